"""The voice engine's audio endpoint speaks model output with espeak-ng: an answer shaped like an
option must not make espeak-ng read a server file, and synthesis is bounded in time and size."""

from __future__ import annotations

import base64

import pytest

from llmops.providers.errors import ProviderTimeout
from llmops.providers.tts import EspeakTTS
from tests.sse import data_frames

REQUEST = {"model": "smollm2-135m", "stream": True, "messages": [{"role": "user", "content": "Say something."}]}


def audio_seconds(response) -> tuple[float, list[dict]]:
    chunks = [frame for frame in data_frames(response) if frame != "[DONE]"]
    pcm = b"".join(base64.b64decode(c["choices"][0]["delta"]["audio"]["data"]) for c in chunks
                   if "choices" in c and "data" in c["choices"][0]["delta"].get("audio", {}))
    return len(pcm) / 2 / 16000, chunks


def test_an_answer_starting_with_dash_f_does_not_read_a_server_file(client, key_headers, fake, tmp_path):
    secret = tmp_path / "secretmarker"  # no dot in the path: the answer stays one "sentence"
    secret.write_text("The operator's secret marker phrase is written here. " * 40)  # about two minutes of speech
    fake.behaviour.answer_chunks = [f"-f{secret}"]
    response = client.post("/audio/chat/completions", json=REQUEST, headers=key_headers)
    assert response.status_code == 200
    seconds, chunks = audio_seconds(response)
    assert not any("error" in c for c in chunks), chunks
    # the path itself is spoken (a few seconds); reading the file would give minutes of audio
    assert 0.5 < seconds < 15, seconds


def test_synthesis_output_is_capped(app, client, key_headers, fake, monkeypatch):
    fake.behaviour.answer_chunks = ["This sentence is long enough to produce more than a little audio"]
    monkeypatch.setitem(app.config, "TTS_MAX_OUTPUT_BYTES", 20_000)  # under half a second of espeak's 22 kHz WAV
    response = client.post("/audio/chat/completions", json=REQUEST, headers=key_headers)
    seconds, chunks = audio_seconds(response)
    errors = [c["error"] for c in chunks if "error" in c]
    assert errors and errors[0]["code"] == "speech_synthesis_failed", chunks
    assert seconds == 0


def test_synthesis_is_killed_past_its_deadline():
    with pytest.raises(ProviderTimeout):
        EspeakTTS(timeout_s=0.05).synthesize("A very long answer that takes a while to speak. " * 400)
