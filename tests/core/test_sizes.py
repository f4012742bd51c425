"""File sizes in French (core.formatting.size_fr): the sweep's report and the upload checks' refusals."""
from __future__ import annotations

from trainingmgr.core.formatting import size_fr


def test_a_size_takes_the_largest_unit_it_reaches():
    assert [size_fr(n) for n in (0, 1023, 1024, 12_595, 1_258_291, 3 << 30)] == [
        "0 o", "1023 o", "1 Ko", "12,3 Ko", "1,2 Mo", "3 Go"]


def test_a_size_beside_a_limit_keeps_the_limits_unit():
    assert [size_fr(n, "Mo") for n in (512 << 10, 20 << 20, 1 << 30)] == ["0,5 Mo", "20 Mo", "1\u202f024 Mo"]
