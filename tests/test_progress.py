"""Progress lines: rate and ETA arithmetic with a fake clock."""

from electra_tf.progress import ProgressMeter, format_duration


def test_format_duration():
    assert format_duration(5.2) == "5s"
    assert format_duration(65) == "1m05s"
    assert format_duration(3725) == "1h02m05s"
    assert format_duration(-3) == "0s"


def test_eta_extrapolates_average_rate_and_logs_when_due():
    now = [100.0]
    lines = []
    meter = ProgressMeter(total=1000, log=lines.append, every_seconds=10, clock=lambda: now[0])
    assert meter.eta() is None
    now[0] = 105.0
    meter.advance(100, "a")  # 5 s elapsed < 10 s: no line yet
    assert lines == []
    now[0] = 120.0
    meter.advance(150, "b", rate_of=("tokens", 4000))
    # 250 of 1000 in 20 s -> 750 left at 12.5/s = 60 s; 4000 tokens / 20 s = 200/s.
    assert meter.eta() == 60.0
    assert lines == [" 25.0% | b | 200 tokens/s | elapsed 20s, ETA 1m00s"]
    now[0] = 121.0
    meter.advance(750)  # completion always logs
    assert len(lines) == 2 and lines[1].startswith("100.0%")
