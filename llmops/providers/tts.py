"""Offline speech synthesis with espeak-ng (Debian's package, installed by ``make install``).

``EspeakTTS.synthesize(text)`` → 16-bit little-endian mono PCM at 16 kHz (seed 001's audio format).
espeak-ng writes a 22,050 Hz WAV to stdout; it is resampled with a polyphase filter (scipy).
Chinese text is spoken with the ``cmn`` voice, anything else with ``en``. Failures raise
``ProviderError``.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np

from llmops.providers.errors import ProviderError, ProviderUnavailable

SAMPLE_RATE = 16000
_CJK = re.compile(r"[\u3400-\u9fff]")


class EspeakTTS:
    def __init__(self, binary: str = "espeak-ng", timeout_s: float = 30.0):
        self.binary = binary
        self.timeout_s = timeout_s

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    def synthesize(self, text: str) -> bytes:
        """PCM16 mono 16 kHz of ``text`` (empty bytes for blank text)."""
        if not text.strip():
            return b""
        if not self.available():
            raise ProviderUnavailable(f"{self.binary} is not installed (make install sets it up)")
        voice = "cmn" if _CJK.search(text) else "en"
        try:
            wav = subprocess.run([self.binary, "--stdout", "-v", voice, text], capture_output=True, check=True,
                                 timeout=self.timeout_s).stdout
        except (subprocess.SubprocessError, OSError) as exc:
            raise ProviderError(f"speech synthesis failed: {exc.__class__.__name__}") from exc
        return to_pcm16_16k(wav)


def to_pcm16_16k(wav: bytes) -> bytes:
    """A mono 16-bit WAV (any rate; espeak-ng's streamed header has no real sizes) → PCM16 at 16 kHz."""
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise ProviderError("speech synthesis returned no WAV data")
    rate = int.from_bytes(wav[24:28], "little")
    data = wav.find(b"data", 12)
    if data < 0:
        raise ProviderError("speech synthesis returned a WAV without data")
    samples = np.frombuffer(wav[data + 8:len(wav) - (len(wav) - data - 8) % 2], dtype="<i2")
    if rate != SAMPLE_RATE and len(samples):
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(SAMPLE_RATE, rate)
        samples = np.clip(resample_poly(samples.astype(np.float32), SAMPLE_RATE // g, rate // g), -32768, 32767)
    return samples.astype("<i2").tobytes()
