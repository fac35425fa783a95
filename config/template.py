"""The config `socialtui init` writes: every section, commented, ready for a Russian shop."""

from __future__ import annotations

__all__ = ["STARTER_CONFIG"]

STARTER_CONFIG = """\
# socialtui config. Check it with `socialtui check --config PATH`.
# Text values need "quotes"; numbers and true/false do not.
# Relative paths are relative to this file's folder.

# Tags the operator can put on an item (press t on a card). Keep this line above the first
# [table]: TOML reads every key after a [header] as part of that table.
tags = ["брак", "доставка", "оплата", "возврат", "персонал", "меню", "похвала"]

[shop]
name = "Моя кофейня"            # shown in the title bar and filled into {shop}
timezone = "Europe/Moscow"      # an IANA name: "Asia/Yekaterinburg", "Asia/Novosibirsk", ...
operator = "Оля"                # who is answering; recorded with every action
language = "ru"                 # "ru" or "en": the board's own words

[sla]
# How long a customer may wait for the first answer. Durations: "45s", "15m", "1h30m", "2d".
warn_after = "15m"              # the card's age turns amber
breach_after = "1h"             # ... and red
# The clock only runs in working hours: "24/7", or e.g. "mon-fri 09:00-21:00, sat 10:00-18:00".
# A period may cross midnight ("fri 20:00-02:00"). Times are in the shop's timezone.
hours = "mon-fri 09:00-21:00, sat-sun 10:00-18:00"

# [storage]
# url = "sqlite:///socialtui.db"  # default: a database per config under ~/.local/share/socialtui

[sentiment]
model = "bundled"               # "bundled", "dostoevsky", or the path of a fastText model
negative_threshold = 0.25      # 0..1; lower sends more items to the complaints column

[ui]
bell = true                     # ring the terminal bell when a complaint arrives

# --- feeds: where messages come from --------------------------------------------------------
# A JSON Lines file, one message per line; handy for exports and scripts.
[[feeds]]
type = "jsonl"
path = "inbox.jsonl"

# VK community messages and comments. Tokens never go in this file: name the environment
# variable that holds them (`*_env`), then `export VK_TOKEN=...` before starting socialtui,
# and keep this file private (chmod 600).
# [[feeds]]
# type = "vk"
# token_env = "VK_TOKEN"              # community token: messages, wall, manage
# group_id = 123456789
# search = ["Зерно кофейня"]          # optional: mentions elsewhere in VK ...
# service_token_env = "VK_SERVICE"    # ... need a service token (also shows commented posts)

# Telegram bot: DMs to the bot, and comments under your channel's posts (add the bot to the
# channel's discussion group with privacy mode off, or as an admin).
# [[feeds]]
# type = "telegram"
# token_env = "TELEGRAM_TOKEN"
# channel = "@zerno_coffee"

# X (Twitter) mentions of your account. Reading needs a bearer token; replying needs the four
# user-context keys of the shop's account.
# [[feeds]]
# type = "x"
# bearer_token_env = "X_BEARER_TOKEN"
# consumer_key_env = "X_CONSUMER_KEY"
# consumer_secret_env = "X_CONSUMER_SECRET"
# access_token_env = "X_ACCESS_TOKEN"
# access_token_secret_env = "X_ACCESS_TOKEN_SECRET"
# poll_interval = 60                  # seconds; X bills every read

# --- teams: where a question can be redirected (press f) -------------------------------------
# `reply` is posted to the customer when you redirect. Placeholders: {name} the customer,
# {shop} your shop, {team} the team's title, {contact} its contact line.
[teams.delivery]
title = "Доставка"
contact = "+7 900 000-00-01"
reply = "{name}, передали ваш вопрос в доставку, вам ответят в течение часа. Телефон: {contact}."

[teams.kitchen]
title = "Кухня"
contact = "шеф-повар"
reply = "{name}, спасибо! Передали на кухню, шеф разберётся и вернётся с ответом."

[teams.billing]
title = "Оплата и возвраты"
contact = "billing@example.ru"
reply = "{name}, вопросами оплаты занимается бухгалтерия, мы им уже передали. Почта: {contact}."

# --- templates: replies one key away in the composer ----------------------------------------
# `key` is a single character: in the composer (press r), ctrl+t and then this key inserts the
# text. The first template is also the quick acknowledgement (press a on a card).
[[templates]]
key = "a"
title = "Приняли, разбираемся"
text = "Здравствуйте, {name}! Спасибо, что написали. Мы уже разбираемся и ответим в течение часа."

[[templates]]
key = "s"
title = "Извинение"
text = "{name}, простите, что так вышло. Напишите номер заказа в личные сообщения, мы всё исправим."

[[templates]]
key = "t"
title = "Спасибо за отзыв"
text = "{name}, спасибо за тёплые слова! Передадим команде «{shop}»."

[[templates]]
key = "h"
title = "Часы работы"
text = "{name}, мы работаем по будням с 9:00 до 21:00, в выходные с 10:00 до 18:00."
"""
