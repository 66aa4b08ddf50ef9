"""The ``reeltime-plugins`` command: ``run`` (over Kafka) and ``analyse`` (offline)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .offline import AnalyseError, analyse, read_profile
from .pipeline import RetryPolicy
from .plugin import load_module, plugins_of


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reeltime-plugins",
        description="Run Python plugins for reeltime: over Kafka (run) or over local media "
                    "into an event log (analyse).")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run", help="consume chunks, run the module's plugins, produce their records "
                    "(exactly once, Kafka transactions)")
    run.add_argument("--brokers", default=os.environ.get("REELTIME__KAFKA__BROKERS"),
                     help="Kafka bootstrap servers (default $REELTIME__KAFKA__BROKERS)")
    run.add_argument("--module", required=True,
                     help="the plugins: a module name (my_plugins) or a file (plugins.py)")
    run.add_argument("--group", default="reeltime-plugins",
                     help="consumer group; runners of one group share the events "
                          "(default reeltime-plugins)")
    run.add_argument("--instance", default=None,
                     help="this runner's name within the group, stable across restarts "
                          "(default the host name; give each runner on one host its own)")
    run.add_argument("--prefix", default=os.environ.get("REELTIME__KAFKA__TOPIC_PREFIX",
                                                        "reeltime."),
                     help="topic name prefix (default $REELTIME__KAFKA__TOPIC_PREFIX or "
                          "reeltime.)")
    run.add_argument("--batch", type=int, default=64,
                     help="records consumed per transaction at most (default 64)")
    _common(run)
    run.add_argument("--until-ended", action="store_true",
                     help="stop once every event seen has ended, its records are published "
                     "and the group has committed every input partition to its end")
    run.add_argument("--release-after", type=float, default=600.0,
                     help="seconds after an event's end (its work published, nothing more of "
                          "it arriving) when its state leaves memory; later records of it "
                          "are skipped (default 600)")

    offline = commands.add_parser(
        "analyse", help="run the module's plugins over a video, folder of chunks, HLS "
                        "playlist or event log, and write an event log")
    offline.add_argument("input", type=Path,
                         help="video file, folder of .ts/.mp4 chunks, .m3u8 VOD playlist, or "
                              ".jsonl event log (e.g. reeltime demo's demo-log.jsonl)")
    offline.add_argument("--module", required=True, help="the plugins: module name or file")
    offline.add_argument("--profile", type=Path,
                         help="profile record (JSON); required for media, optional for a log")
    offline.add_argument("--out", type=Path, required=True, help="the event log to write")
    offline.add_argument("--event-id", help="the event's id (default from the file name)")
    offline.add_argument("--chunk-size", type=float,
                         help="seconds per chunk when cutting a file (default the profile's)")
    offline.add_argument("--quiet", action="store_true", help="do not show progress")
    _common(offline)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, default=4,
                        help="plugins run at once on a chunk (default 4)")
    parser.add_argument("--retries", type=int, default=3,
                        help="tries of a plugin that raises before its failure is published "
                             "(default 3)")
    parser.add_argument("--retry-delay", type=float, default=0.5,
                        help="seconds before the second try, doubled after each (default 0.5)")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``reeltime-plugins``."""
    args = _parser().parse_args(argv)
    retry = RetryPolicy(attempts=max(1, args.retries), first_delay=args.retry_delay)
    if args.command == "run":
        if not args.brokers:
            print("reeltime-plugins run: --brokers (or REELTIME__KAFKA__BROKERS) is required",
                  file=sys.stderr)
            return 2
        from .runner import Runner, RunnerOptions

        options = RunnerOptions(brokers=args.brokers, module=args.module, group=args.group,
                                prefix=args.prefix, batch=args.batch, threads=args.threads,
                                retry=retry, until_ended=args.until_ended,
                                release_after=args.release_after)
        if args.instance:
            options.instance = args.instance
        return Runner(options).run()
    try:
        plugins = plugins_of(load_module(args.module))
        if not plugins:
            raise AnalyseError(f"module {args.module} defines no plugins")
        profile = read_profile(args.profile) if args.profile else None
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", encoding="utf-8") as out:
            progress = None if args.quiet else (lambda line: print(line, file=sys.stderr))
            summary = analyse(args.input, plugins, out, profile=profile,
                              event_id=args.event_id, chunk_seconds=args.chunk_size,
                              retry=retry, threads=args.threads, progress=progress)
    except (AnalyseError, ImportError, FileNotFoundError) as error:
        print(f"reeltime-plugins analyse: {error}", file=sys.stderr)
        return 1
    print(f"{summary.chunks} chunks analysed, {summary.records_out} plugin records written to "
          f"{args.out}" + (f", {summary.failures} plugin failures" if summary.failures else ""),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
