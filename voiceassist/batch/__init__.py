"""``voiceassist analyze-batch``: the ``analyze`` document for many recordings, resumable, shardable, on
local processes or Ray Data.

OUT_DIR layout (``i-of-N`` only with ``--shard i/N``; shards may share one OUT_DIR):

    results/<relative path>.json       one result per input: the document ``voiceassist analyze`` writes
                                       (``talk/a.wav`` -> ``results/talk/a.wav.json``)
    external/<absolute path>.json      a manifest entry outside the manifest's folder
    batch[.shard-i-of-N].jsonl         the journal: one line per file done or failed, with its input's size
                                       and mtime (a changed input is done again)
    failed[.shard-i-of-N].jsonl        the files that failed, with their error
    summary[.shard-i-of-N].json        counts (done, skipped as already done, failed), audio and wall time

Modules: ``inputs`` (folder / manifest, keys, shards), ``journal`` (the files above), ``models`` (one model
set per worker, one Session per file), ``local`` and ``ray_exec`` (executors), ``runner`` (the driver),
``progress`` (the bar or plain lines).
"""

from voiceassist.batch.inputs import AUDIO_EXTENSIONS, InputError, Item, discover, output_for, parse_shard, shard_of
from voiceassist.batch.journal import JournalBusyError
from voiceassist.batch.models import SetupError
from voiceassist.batch.runner import BatchOptions, BatchResult, NoAudioError, run_batch

__all__ = [
    "AUDIO_EXTENSIONS",
    "BatchOptions",
    "BatchResult",
    "InputError",
    "Item",
    "JournalBusyError",
    "NoAudioError",
    "SetupError",
    "discover",
    "output_for",
    "parse_shard",
    "run_batch",
    "shard_of",
]
