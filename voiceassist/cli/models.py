"""``voiceassist models list/pull/verify/remove/gpu``: the model catalogue (voiceassist/models_manager.py)."""

from __future__ import annotations

import argparse
import sys

from voiceassist.options import EXIT_CONFIG, EXIT_FAILED, EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    from voiceassist import models_manager as mm
    from voiceassist.paths import models_dir

    folder = args.models_dir or models_dir()
    cat = mm.catalogue(args.catalogue)
    cmd = args.models_command
    if cmd == "gpu":
        print(mm.gpu_report())
        return EXIT_OK
    if cmd == "list":
        print(f"models folder: {folder}")
        for e in cat.values():
            here = mm.installed(e, folder)
            size = f"{mm.folder_size(folder / e.folder) / 1e6:.0f} MB on disk" if here else f"~{e.size_mb:.0f} MB"
            src = e.hf or e.ms
            print(f"{'*' if here else ' '} {e.name:24s} {e.kind:15s} {size:>16s}  {src}")
        print("* installed. The embedded Whisper base and tiny.en need no download.")
        return EXIT_OK
    if cmd == "pull" and args.recommended:
        import os

        gpu = mm.cuda_memory_gb()
        args.name = mm.recommended(gpu, os.cpu_count() or 1)
        why = f"a GPU with {gpu:.0f} GB" if gpu is not None else f"no GPU, {os.cpu_count()} CPU cores"
        print(f"recommended for this machine ({why}): {args.name}")
    elif cmd == "pull" and not args.name:
        print("voiceassist: name a model (see 'voiceassist models list') or use --recommended", file=sys.stderr)
        return EXIT_CONFIG
    if args.name and args.name not in cat and cmd != "verify":
        print(f"voiceassist: unknown model {args.name!r}; see 'voiceassist models list'", file=sys.stderr)
        return EXIT_CONFIG
    if cmd == "pull":
        entry = cat[args.name]
        if entry.license:
            print(f"{args.name}: about {entry.size_mb:.0f} MB; licence: {entry.license} {entry.license_url}".rstrip())
        try:
            path = mm.pull(args.name, folder, args.hub, args.endpoint, cat)
        except mm.ModelManagerError as e:
            print(f"voiceassist: {e}", file=sys.stderr)
            return EXIT_FAILED
        print(f"installed {args.name} in {path} (sizes and hashes checked)")
        return EXIT_OK
    if cmd == "remove":
        removed = mm.remove(cat[args.name], folder)
        print(f"removed {folder / cat[args.name].folder}" if removed else f"{args.name} is not installed")
        return EXIT_OK
    names = [args.name] if args.name else [n for n, e in cat.items() if mm.installed(e, folder)]
    bad = 0
    for n in names:
        if n not in cat:
            print(f"voiceassist: unknown model {n!r}", file=sys.stderr)
            return EXIT_CONFIG
        problems = mm.verify(cat[n], folder)
        bad += bool(problems)
        print(f"{n}: " + ("ok" if not problems else "; ".join(problems)))
    if not names:
        print("no models installed in " + str(folder))
    return EXIT_FAILED if bad else EXIT_OK
