"""Reads assets by name and by GUID, updates them, and logs carelessly (the password must stay masked)."""

import hashlib
import json
import os

import _helpers
import robot_framework as rf

seen = {}
cred = rf.get_credential("ERP login")
seen["login"] = cred.login
seen["password_ok"] = hashlib.sha256(cred.password.encode()).hexdigest() == os.environ["TEST_PASSWORD_SHA"]
login, password = rf.get_credential(os.environ["TEST_CREDENTIAL_GUID"])  # by GUID, unpacked as a pair
seen["by_guid_same"] = (login, password) == (cred.login, cred.password)
print("credential:", repr(cred))  # masked repr
asset = rf.get_asset("ERP login")
print("asset:", asset)  # masked repr
rf.log(f"careless robot logs the password {cred.password} in a message")
text = rf.get_asset("Base URL")
seen["text"] = text["text"]
seen["type"] = text["type"]
rf.set_asset("Base URL", text="https://erp.example/v2")
seen["text_after"] = rf.get_asset(text["guid"])["text"]
rf.set_asset("ERP login", password=os.environ["TEST_NEW_PASSWORD"])
seen["rotated_ok"] = rf.get_credential("ERP login").password == os.environ["TEST_NEW_PASSWORD"]
try:
    rf.get_credential("Base URL")
except rf.RobotApiError as e:
    seen["not_credential"] = str(e)
_helpers.mark("api.json", json.dumps(seen))
