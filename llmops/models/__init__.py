"""SQLAlchemy models; importing this package registers every table on ``Base.metadata``."""

from llmops.models.account import Account, AccountLedger, AccountOAuth, InviteCode
from llmops.models.api_key import ActiveModel, ApiKey, ModelPrice, QuotaHold, RedeemCode, UsageDaily, UsageLog
from llmops.models.app import App, AppConfig
from llmops.models.base import Base
from llmops.models.conversation import Conversation, Message, ModelConversation
from llmops.models.dataset import AppDatasetJoin, Dataset, DatasetQuery, Document, Segment, SegmentTerm, UploadFile
from llmops.models.platform import ProviderOverride, StateEntry
from llmops.models.tool import ApiTool, ApiToolProvider, MessageAgentThought

__all__ = [
    "Account", "AccountLedger", "AccountOAuth", "ActiveModel", "ApiKey", "ApiTool", "ApiToolProvider", "App",
    "AppConfig", "AppDatasetJoin", "Base", "Conversation", "Dataset", "DatasetQuery", "Document", "InviteCode",
    "Message", "MessageAgentThought", "ModelConversation", "ModelPrice",
    "ProviderOverride", "QuotaHold", "RedeemCode", "Segment",
    "SegmentTerm", "StateEntry", "UploadFile", "UsageDaily", "UsageLog",
]
