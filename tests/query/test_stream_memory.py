"""scripts/stream_memory.py: iter() keeps memory flat (a short run here; the full 1,000,000 rows by hand)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / 'scripts' / 'stream_memory.py'


def test_streaming_keeps_memory_flat() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), '--rows', '100000', '--batch-size', '1000',
                             '--limit-mb', '20'], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'streamed 100,000 rows with iter(batch_size=1000)' in result.stdout
    growth = float(re.search(r'growth ([\d.]+) MB', result.stdout).group(1))
    assert growth < 20
