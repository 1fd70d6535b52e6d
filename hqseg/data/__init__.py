"""Data half of hqseg: sources, download, normalisation and the HQSeg-44K build."""
