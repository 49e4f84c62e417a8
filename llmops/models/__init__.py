"""SQLAlchemy models; importing this package registers every table on ``Base.metadata``."""

from llmops.models.account import Account
from llmops.models.app import App, AppConfig
from llmops.models.base import Base
from llmops.models.conversation import Conversation, Message
from llmops.models.platform import ProviderOverride, StateEntry

__all__ = ["Account", "App", "AppConfig", "Base", "Conversation", "Message", "ProviderOverride", "StateEntry"]
