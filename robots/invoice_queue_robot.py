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
        raise rf.BusinessError(f"amount {invoice['amount']} needs a manager's approval")


def main() -> int:
    login, password = rf.get_credential("ERP login")  # never print or log the password
    rf.log(f"signed in as {login}")
    # Each task is taken (In progress) by the loop; `with task:` sets its outcome: Success when the block
    # ends normally, Failed (business exception) on rf.BusinessError, Failed (application exception) on
    # any other exception (3 in a row end the job), back to New on a soft stop. The loop ends when the
    # queue is empty or the Orchestrator asks this job to stop.
    for task in rf.tasks(QUEUE, max_consecutive_failures=3):
        with task:
            process(task["parameters"], login, password)
            rf.log(f"{task['name']}: booked")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
