"""The ``hqseg`` command line.

Only the ``hqseg.cli`` package imports click. Each module here holds the commands
of one area and lists them in ``COMMANDS``; heavy libraries are imported inside
the command bodies so that ``hqseg --help`` stays fast.
"""

from __future__ import annotations

import sys

import click

from hqseg import __version__
from hqseg.cli import audit, build, data, evaluate, model, predict, report, review, train
from hqseg.errors import HqsegError


class _Group(click.Group):
    """Turns :class:`HqsegError` (and a full, read-only or forbidden disk, and input
    nested too deeply to parse) into a one-line message and exit code 2."""

    def invoke(self, ctx: click.Context):
        from hqseg.utils.atomic import disk_error

        try:
            return super().invoke(ctx)
        except HqsegError as exc:
            message = str(exc)
        except OSError as exc:
            if disk_error(exc, "") is None:
                raise
            message = str(disk_error(exc, ""))
        except RecursionError:
            message = "input nested too deeply to read (RecursionError)"
        click.secho(f"error: {message}", fg="red", err=True)
        sys.exit(2)

    def __call__(self, *args, **kwargs):
        """A process's entry (the console script, ``python -m hqseg.cli``, torchrun ranks):
        pin CPU numerics before anything imports torch (``hqseg.utils.cpu_numerics``) and
        give torch huge pages (``hqseg.utils.memory.use_huge_pages``). In-process calls
        (click's test runner) go through ``main()`` and keep their settings."""
        from hqseg.utils.cpu_numerics import pin_cpu_numerics
        from hqseg.utils.memory import use_huge_pages

        use_huge_pages()
        try:
            pin_cpu_numerics()
        except HqsegError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(2)
        return super().__call__(*args, **kwargs)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hqseg")
def main() -> None:
    """HQSeg-44K data pipeline, HQ-SAM training and boundary-aware evaluation.

    \b
    Data:       sources, sample, download, normalize, build, publish
    Model:      export, predict
    Training:   train
    Evaluation: eval results | eval hq | eval coco | eval coco-sample, report
    Curation:   audit (likely wrong masks), review (their page), build --exclude

    Every DVC stage in dvc.yaml is one of these commands.
    """


for _module in (data, build, audit, review, model, predict, train, evaluate, report):
    for _command in _module.COMMANDS:
        main.add_command(_command)
