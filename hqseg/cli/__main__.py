"""``python -m hqseg.cli``: the same command line as ``hqseg`` (used by torchrun)."""

from hqseg.cli import main

if __name__ == "__main__":
    main(prog_name="hqseg")
