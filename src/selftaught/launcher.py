"""The `selftaught` command's entry point: what can start before the command line is read, then the CLI.

Reading the command line means importing the CLI and everything it names (about a third of
a second); a run against an `openai:` model then needs the OpenAI SDK, which takes longer
still to import. So where the command line (or SELFTAUGHT_MODEL) names such a model, the
SDK's host process starts first and loads alongside (selftaught.models.sdk_host).
"""

from __future__ import annotations

import sys


def main() -> None:
    from selftaught.models.host_process import names_openai_model, start_early

    if names_openai_model(sys.argv[1:]):
        start_early()
    from selftaught.cli import main as cli_main

    cli_main()
