"""A smoke-size run of B3 so the benchmark keeps working (the real figures come from make bench)."""

import pytest

from bench import b3_chat_pipeline


def test_b3_smoke(profile):
    if profile != "embedded":
        pytest.skip("B3 runs on the embedded profile; once per make test is enough")
    result = b3_chat_pipeline.run(rounds=2, segments=200)
    assert result["model_ttft_ms"]["p50"] > 0 and result["ours_first_agent_message_ms"]["p50"] > 0
    assert result["retrieved"] == 4 and "B3" in b3_chat_pipeline.table(result)
