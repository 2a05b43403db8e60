"""The typed context every handler and job receives."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.services import Services


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], Services]):
    @property
    def services(self) -> Services:
        return self.bot_data


CONTEXT_TYPES = ContextTypes(context=BotContext, bot_data=Services)

BotApplication = Application[ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], Services, Any]
