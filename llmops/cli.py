"""Flask CLI admin commands: ``flask --app wsgi llmops <command>``."""

from __future__ import annotations

import secrets

import click
from flask import Flask
from flask.cli import AppGroup

from llmops.services import account_service, memory_service, model_service

llmops_cli = AppGroup("llmops", help="llmops administration commands.")


@llmops_cli.command("create-admin")
@click.argument("email")
@click.option("--name", default="admin", show_default=True)
@click.option("--password", default=None, help="Generated and printed when omitted.")
def create_admin(email: str, name: str, password: str | None) -> None:
    """Create an admin account EMAIL (or promote an existing one)."""
    generated = password is None
    password = password or secrets.token_urlsafe(12) + "a1"
    account = account_service.create_admin(email, name, password)
    click.echo(f"admin {account.email} ({account.id})")
    if generated:
        click.echo(f"password: {password}")


@llmops_cli.command("set-provider")
@click.argument("provider")
@click.option("--base-url", default=None)
@click.option("--api-key-env", default=None, help="Name of the environment variable holding the key.")
@click.option("--disable", is_flag=True)
def set_provider(provider: str, base_url: str | None, api_key_env: str | None, disable: bool) -> None:
    """Override a registry provider's base URL, key variable or enabled flag in the database."""
    model_service.set_provider_override(provider, base_url, api_key_env, not disable)
    click.echo(f"provider {provider} updated")


@llmops_cli.command("redispatch-memory")
@click.option("--older-than", default=0, show_default=True, help="Seconds a fold has been pending.")
def redispatch_memory(older_than: int) -> None:
    """Queue again the long-term-memory folds still pending."""
    click.echo(f"{memory_service.redispatch_pending(older_than)} fold(s) queued")


def init_app(app: Flask) -> None:
    app.cli.add_command(llmops_cli)
