"""Example queue robot: signs in with a credential from the Orchestrator and works through a queue.

Try it locally (README, "Robot API"):
    python tests/orchestrator_emulator.py --serve --data robots/example_data.json \
        --job invoice_queue_robot --write-config local.ini
    python robot_framework.py --config local.ini --once --no-logoff
"""

import robot_framework as rf

QUEUE = "invoices"


def process(invoice: dict, login: str, password: str) -> None:
    """The real work (log in to the ERP with login/password, book the invoice) goes here."""
    if invoice.get("amount", 0) > 10_000:
        raise ValueError(f"amount {invoice['amount']} needs a manager's approval")


def main() -> int:
    login, password = rf.get_credential("ERP login")  # never print or log the password
    rf.log(f"signed in as {login}")
    while not rf.stop_requested():
        task = rf.next_task(QUEUE)  # marked In progress; None when the queue is empty
        if task is None:
            break
        try:
            process(task["parameters"], login, password)
        except ValueError as e:  # a business rule: a person must look at this item
            rf.log(f"{task['name']}: {e}", level="warning")
            rf.set_task_status(task["guid"], rf.TASK_FAILED_BUSINESS)
            continue
        except Exception as e:  # anything else: the application failed on this item
            rf.log(f"{task['name']}: {e!r}", level="error")
            rf.set_task_status(task["guid"], rf.TASK_FAILED_APPLICATION)
            continue
        rf.set_task_status(task["guid"], rf.TASK_SUCCESS)
        rf.log(f"{task['name']}: booked")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
