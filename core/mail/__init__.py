"""Mail: the durable outbox (`outbox.queue_mail`), the SMTP worker (`worker`), and the
back-office outbox pages (`routes`). Every package sends mail through `queue_mail`.
"""

from core.mail.outbox import queue_mail, send_test_mail

__all__ = ["queue_mail", "send_test_mail"]
