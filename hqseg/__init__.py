"""hqseg: HQSeg-44K data pipeline, HQ-SAM training and boundary-aware evaluation."""

__version__ = "0.1.0"
