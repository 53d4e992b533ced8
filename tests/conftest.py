"""Shared fixtures. No test touches the network: the Hub is forced offline for the whole session."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import pytest


@pytest.fixture(scope="session")
def smol_tokenizer():
    from tiny_models import default_tokenizer

    return default_tokenizer()


@pytest.fixture(scope="session")
def tiny(smol_tokenizer):
    """(model, tokenizer): a random 2-layer Llama with the real SmolLM2 tokenizer."""
    from tiny_models import tiny_llama

    return tiny_llama(smol_tokenizer)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory, smol_tokenizer):
    """A tiny Llama saved as a local Hugging Face directory."""
    from tiny_models import save_tiny_llama

    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), tokenizer=smol_tokenizer)


@pytest.fixture
def tiny_loaded(tiny_dir):
    from insabot.config import ModelConfig
    from insabot.models.loading import load

    return load(ModelConfig(base_model=str(tiny_dir)), device="cpu")


@pytest.fixture(scope="session")
def tiny_backend_for(tiny_dir):
    """`tiny_backend_for()` → a LocalBackend serving only the tiny Llama (loaded on first use), two at a time:
    what the server tests put behind `create_app`."""
    from insabot.bot.backends import LocalBackend
    from insabot.bot.models import ModelChoice, ModelPool
    from insabot.config import ModelConfig
    from insabot.models.loading import load

    def make():
        choice = ModelChoice(str(tiny_dir))
        pool = ModelPool(
            ModelConfig(base_model=str(tiny_dir)), [choice], loader=lambda c: load(c, device="cpu")
        )
        return LocalBackend(pool, concurrency=2)

    return make


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unused_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def web_app(tiny_dir, tmp_path_factory):
    """The web chat on a free loopback port, serving the tiny Llama (one app per test module)."""
    from types import SimpleNamespace

    from insabot.bot.models import ModelChoice, ModelPool
    from insabot.bot.ui import WebChat, build_app, launch
    from insabot.config import Config, ModelConfig, UiConfig
    from insabot.models.loading import load

    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))
    port = free_port()
    config = Config(model=ModelConfig(base_model=str(tiny_dir)), ui=UiConfig(port=port, model_dirs=[]))
    config.chat.max_message_chars = 200
    config.generation.max_new_tokens = 24
    pool = ModelPool(config.model, [ModelChoice(str(tiny_dir))], loader=lambda c: load(c, device="cpu"))
    app = build_app(WebChat(pool, config))
    launch(app, config.ui, prevent_thread_lock=True)
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}/", label=pool.labels[0], pool=pool, config=config)
    app.close()


@pytest.fixture(scope="module")
def running():
    """`with running(asgi_app) as url:` serves the app with uvicorn on a free loopback port; given a configured
    `uvicorn.Server` instead (e.g. the one `insabot serve` builds), runs that one as it is."""
    import threading
    import time
    from contextlib import contextmanager

    import uvicorn

    @contextmanager
    def serve(app_or_server):
        server = app_or_server
        if not isinstance(server, uvicorn.Server):
            config = uvicorn.Config(app_or_server, host="127.0.0.1", port=free_port(), log_level="warning")
            server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{server.config.port}"
        finally:
            server.should_exit = True
            thread.join()

    return serve
