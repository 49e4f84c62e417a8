"""The studio: apps, drafts and versions, debug and published chat, conversations, memory, agents and tools, web apps."""
