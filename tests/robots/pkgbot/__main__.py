"""A robot that is a folder with __main__.py."""

import os

with open(os.path.join(os.environ["TEST_OUT"], "pkgbot.txt"), "w", encoding="utf-8") as f:
    f.write(os.getcwd())
