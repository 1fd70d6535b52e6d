"""Label-quality curation of a build: audit signals, the review page, the exclude loop."""
