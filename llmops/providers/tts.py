"""Offline speech synthesis with espeak-ng (Debian's package, installed by ``make install``).

``EspeakTTS.synthesize(text)`` → 16-bit little-endian mono PCM at 16 kHz (seed 001's audio format).
espeak-ng writes a 22,050 Hz WAV to stdout; it is resampled with a polyphase filter (scipy).
Chinese text is spoken with the ``cmn`` voice, anything else with ``en``. Failures raise
``ProviderError``.

The text is model output, i.e. attacker-controlled: it reaches espeak-ng on standard input only
(``--stdin``), never on the command line, so an answer such as ``-f/etc/passwd`` is spoken, not
taken as an option. Each synthesis is killed past ``timeout_s`` (``ProviderTimeout``) or when its
WAV output exceeds ``max_output_bytes`` (``ProviderError``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading

import numpy as np

from llmops.providers.errors import ProviderError, ProviderTimeout, ProviderUnavailable

SAMPLE_RATE = 16000
_CJK = re.compile(r"[\u3400-\u9fff]")


class EspeakTTS:
    def __init__(self, binary: str = "espeak-ng", timeout_s: float = 20.0, max_output_bytes: int = 8 * 1024 * 1024):
        self.binary = binary
        self.timeout_s = timeout_s
        self.max_output_bytes = max_output_bytes

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    def synthesize(self, text: str) -> bytes:
        """PCM16 mono 16 kHz of ``text`` (empty bytes for blank text)."""
        if not text.strip():
            return b""
        if not self.available():
            raise ProviderUnavailable(f"{self.binary} is not installed (make install sets it up)")
        voice = "cmn" if _CJK.search(text) else "en"
        return to_pcm16_16k(self._run([self.binary, "--stdout", "-v", voice, "--stdin"], text.encode()))

    def _run(self, argv: list[str], text: bytes) -> bytes:
        """espeak-ng's stdout for ``text`` on its stdin, within the deadline and the size cap."""
        try:
            process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL)
        except OSError as exc:
            raise ProviderError(f"speech synthesis failed: {exc.__class__.__name__}") from exc
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            process.kill()

        timer = threading.Timer(self.timeout_s, expire)
        timer.daemon = True
        timer.start()
        threading.Thread(target=_feed, args=(process.stdin, text), daemon=True).start()
        chunks, size = [], 0
        try:
            while chunk := process.stdout.read(65536):
                size += len(chunk)
                if size > self.max_output_bytes:
                    process.kill()
                    raise ProviderError(f"speech synthesis stopped: more than {self.max_output_bytes} bytes of audio")
                chunks.append(chunk)
            status = process.wait()
        finally:
            timer.cancel()
            if process.poll() is None:
                process.kill()
            process.wait()
            process.stdout.close()
        if expired.is_set():
            raise ProviderTimeout(f"speech synthesis took longer than {self.timeout_s:g} s")
        if status != 0:
            raise ProviderError(f"speech synthesis failed (exit status {status})")
        return b"".join(chunks)


def _feed(pipe, data: bytes) -> None:
    try:
        pipe.write(data)
    except (BrokenPipeError, OSError, ValueError):
        pass
    finally:
        try:
            pipe.close()
        except (BrokenPipeError, OSError):
            pass


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
