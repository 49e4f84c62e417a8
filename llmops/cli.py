"""Flask CLI admin commands: ``flask --app wsgi llmops <command>``."""

from __future__ import annotations

import secrets

import click
from flask import Flask
from flask.cli import AppGroup
from marshmallow import ValidationError

from llmops.errors import AppError
from llmops.schemas.account import validate_password
from llmops.services.core import account_service, balance_service, invite_service, model_service
from llmops.services.gateway import api_key_service, billing_service, redeem_service
from llmops.services.studio import memory_service

llmops_cli = AppGroup("llmops", help="llmops administration commands.")


@llmops_cli.command("create-admin")
@click.argument("email")
@click.option("--name", default="admin", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (else one is generated).")
@click.option("--promote", is_flag=True, help="Make the existing account EMAIL admin (its sessions are revoked).")
def create_admin(email: str, name: str, password_stdin: bool, promote: bool) -> None:
    """Create the admin account EMAIL with a generated password printed once (or --password-stdin)."""
    if password_stdin:
        password = click.get_text_stream("stdin").readline().rstrip("\r\n")
        try:
            validate_password(password)
        except ValidationError as exc:
            raise click.ClickException(f"password: {' '.join(exc.messages)}") from exc
    else:
        password = secrets.token_urlsafe(18) + "a1"
    try:
        account, created = account_service.create_admin(email, name, password, promote=promote)
    except AppError as exc:
        raise click.ClickException(exc.message) from exc
    if not created:
        click.echo(f"promoted {account.email} ({account.id}) to admin; its sessions were revoked")
        return
    click.echo(f"admin {account.email} ({account.id})")
    if not password_stdin:
        click.echo(f"password: {password}")


@llmops_cli.command("disable-account")
@click.argument("email")
def disable_account(email: str) -> None:
    """Disable the account EMAIL: its API keys and tokens are refused at once, its sessions revoked."""
    account = _run(account_service.set_disabled, _account(email).id, True)
    click.echo(f"disabled {account.email} ({account.id})")


@llmops_cli.command("enable-account")
@click.argument("email")
def enable_account(email: str) -> None:
    """Enable the account EMAIL again (it logs in anew: its old tokens stay revoked)."""
    account = _run(account_service.set_disabled, _account(email).id, False)
    click.echo(f"enabled {account.email} ({account.id})")


@llmops_cli.command("revoke-sessions")
@click.argument("email")
def revoke_sessions(email: str) -> None:
    """Refuse every access and refresh token issued to the account EMAIL so far (API keys keep working)."""
    account = _run(account_service.revoke_sessions, _account(email).id)
    click.echo(f"revoked every session of {account.email} ({account.id})")


@llmops_cli.command("invite-codes")
@click.option("--count", type=click.IntRange(1, 100_000), default=1, show_default=True)
@click.option("--expires-at", type=click.IntRange(0, 32_503_680_000), default=None, help="Unix seconds.")
def invite_codes(count: int, expires_at: int | None) -> None:
    """Generate COUNT single-use invite codes (REGISTRATION=invite); prints one code per line."""
    for code in invite_service.generate(count, expires_at):
        click.echo(code)


def _run(function, *args):
    try:
        return function(*args)
    except AppError as exc:
        raise click.ClickException(exc.message) from exc


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


@llmops_cli.command("redeem-codes")
@click.option("--count", type=click.IntRange(1, 100_000), required=True)
@click.option("--quota", type=click.IntRange(1, 10**15), required=True,
              help="Credits each code adds to the redeeming account (1 credit = 1e-6 USD).")
@click.option("--expires-at", type=int, default=None, help="Unix seconds.")
def redeem_codes(count: int, quota: int, expires_at: int | None) -> None:
    """Generate COUNT single-use codes worth QUOTA credits; prints one code per line."""
    for code in redeem_service.generate(count, quota, expires_at):
        click.echo(code)


@llmops_cli.command("create-api-key")
@click.argument("email")
@click.option("--remark", default="cli")
@click.option("--quota", type=int, default=None,
              help="The key's own cap in credits (1 credit = 1e-6 USD); only the account's balance when omitted.")
@click.option("--model", "models", multiple=True, help="Allowed model (repeatable); all when omitted.")
@click.option("--key", "plain", default=None,
              help="Import this existing key (from the system being replaced) instead of generating one.")
def create_api_key(email: str, remark: str, quota: int | None, models: tuple[str, ...], plain: str | None) -> None:
    """Create an API key for the account EMAIL; prints the plain key (shown this once)."""
    account = _account(email)
    try:
        created = api_key_service.create_api_key(account.id, remark=remark, quota=quota, models=list(models),
                                                 plain=plain)
    except AppError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(created["key"])


def _adjust(email: str, amount: int, reason: str, kind: str) -> None:
    account = _account(email)
    try:
        result = balance_service.adjust(account.id, amount, reason, None, kind)
    except AppError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{account.email}: balance {result['balance']} credits, used {result['used']}")


@llmops_cli.command("grant")
@click.argument("email")
@click.argument("amount", type=click.IntRange(1, 10**15))
@click.option("--reason", required=True, help="Kept in the account's ledger.")
def grant(email: str, amount: int, reason: str) -> None:
    """Credit the account EMAIL with AMOUNT credits (1 credit = 1e-6 USD)."""
    _adjust(email, amount, reason, "grant")


@llmops_cli.command("debit")
@click.argument("email")
@click.argument("amount", type=click.IntRange(1, 10**15))
@click.option("--reason", required=True, help="Kept in the account's ledger.")
def debit(email: str, amount: int, reason: str) -> None:
    """Take AMOUNT credits from the account EMAIL (not below 0)."""
    _adjust(email, amount, reason, "debit")


@llmops_cli.command("cleanup-logs")
def cleanup_logs() -> None:
    """Roll up and delete usage-log rows older than USAGE_LOG_RETENTION_DAYS."""
    click.echo(f"{billing_service.purge_logs()} usage-log row(s) deleted")


@llmops_cli.command("reconcile-usage")
def reconcile_usage() -> None:
    """Run the reconciliation job now (beat runs it each minute): settle calls whose process died,
    write usage rows lost from a buffer, correct the Redis ledger's drift. Prints its counts (JSON)."""
    import json

    from llmops.services.core import usage_service

    click.echo(json.dumps(usage_service.reconcile()))


@llmops_cli.command("usage-report")
@click.argument("email")
@click.option("--start-date", default=None, help="YYYY-MM-DD (inclusive); default 30 days back.")
@click.option("--end-date", default=None, help="YYYY-MM-DD (exclusive); default tomorrow.")
def usage_report(email: str, start_date: str | None, end_date: str | None) -> None:
    """Per key and day: requests, errors, tokens, cost, p50 latency (tab-separated)."""
    account = _account(email)
    click.echo("day\tapi_key_id\trequests\terrors\tprompt_tokens\tcompletion_tokens\tcost_usd\tlatency_p50_ms")
    for row in billing_service.usage_report(account.id, start_date, end_date):
        click.echo("\t".join(str(row[k]) for k in ("day", "api_key_id", "requests", "errors", "prompt_tokens",
                                                    "completion_tokens", "cost_usd", "latency_p50_ms")))


def _account(email: str):
    try:
        return account_service.get_account_by_email(email)
    except AppError as exc:
        raise click.ClickException(exc.message) from exc


def init_app(app: Flask) -> None:
    app.cli.add_command(llmops_cli)
