#!/usr/bin/env python3
"""Drives the third-party Freshdesk client python-freshdesk 1.3.9 (unchanged) against a Freshdesk
emulator over HTTPS and prints one JSON line per call on standard output:

    {"call": NAME, "ok": true, "value": ...}
    {"call": NAME, "ok": false, "error": EXCEPTION CLASS, "message": TEXT}

Values are what the client's model objects hold: every attribute the client set from the answer,
under the answer's key names, with the timestamps the client parsed into datetimes written back as
`YYYY-MM-DDTHH:MM:SSZ`, plus the names the client derives (`status`, `priority`, `source`) under
`client_*` keys. The Rust test `third_party_freshdesk` compares them with what the emulator holds.

The client insists on a domain containing `freshdesk.com` and always calls
`https://{domain}/api/v2/...`; `--connect IP` makes the domain's host name resolve to IP inside this
process only (what a hosts entry would do), so TLS still checks the name `*.freshdesk.com`. Trust
the emulator's CA with `REQUESTS_CA_BUNDLE`.

Not exercised (not emulated, the client 404s): time entries, solutions; `customers/` (not part of
Freshdesk's v2 API). The client's `Ticket.source` knows sources 1-7 only (a KeyError for 8-10), so
`client_source` is read only on tickets created here with a known source.
"""

import argparse
import contextlib
import datetime
import json
import socket
import sys
import traceback

from freshdesk.api import API
from freshdesk.v2.models import FreshdeskModel

OUT = sys.stdout


def pin_host(host, ip):
    """Resolves `host` to `ip` in this process (like a hosts entry); other names are untouched."""
    real = socket.getaddrinfo

    def getaddrinfo(name, *args, **kwargs):
        if isinstance(name, (bytes, bytearray)):
            name = name.decode("ascii")
        return real(ip if name == host else name, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def plain(value):
    """A JSON-ready copy of what the client holds: models as dicts, datetimes as UTC strings."""
    if isinstance(value, FreshdeskModel):
        out = {}
        for key in value._keys:
            # The client stores keys that clash with Ticket's properties as `_key`.
            name = key[1:] if key.startswith("_") else key
            out[name] = plain(getattr(value, key))
        return out
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def ticket(t, source=False):
    """A ticket with the names the client derives; `source` only when asked (see above)."""
    out = plain(t)
    out["client_status"] = t.status
    out["client_priority"] = t.priority
    if source:
        out["client_source"] = t.source
    return out


def comment(c):
    out = plain(c)
    out["client_source"] = c.source
    return out


def call(name, fn):
    """Runs one client call and prints its line; the client's own prints go to stderr."""
    try:
        with contextlib.redirect_stdout(sys.stderr):
            value = fn()
        line = {"call": name, "ok": True, "value": value}
    except Exception as e:  # noqa: BLE001 - every failure is a result to report
        traceback.print_exc(file=sys.stderr)
        line = {"call": name, "ok": False, "error": type(e).__name__, "message": str(e)}
    OUT.write(json.dumps(line, sort_keys=True) + "\n")
    OUT.flush()
    return line.get("value")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--domain", required=True, help="HOST:PORT, HOST ending in freshdesk.com")
    p.add_argument("--connect", help="IP address the domain's host name resolves to")
    p.add_argument("--api-key", required=True)
    p.add_argument("--ticket-id", type=int, required=True, help="a seeded ticket")
    p.add_argument("--contact-id", type=int, required=True, help="a seeded contact")
    p.add_argument("--contact-email", required=True, help="a seeded contact's e-mail")
    p.add_argument("--company-id", type=int, required=True, help="a seeded company")
    p.add_argument("--agent-id", type=int, required=True)
    p.add_argument("--group-id", type=int, required=True)
    p.add_argument("--role-id", type=int, required=True)
    p.add_argument("--since", required=True, help="an updated_since for the ticket filter")
    p.add_argument(
        "--contacts-since", required=True, help="an _updated_since for the contacts written here"
    )
    a = p.parse_args()
    if a.connect:
        pin_host(a.domain.rsplit(":", 1)[0], a.connect)

    api = API(a.domain, a.api_key)

    # Reads of the seeded account (the test snapshots the emulator before starting us).
    call("agents.me", lambda: plain(api.agents.currently_authenticated_agent()))
    call("tickets.list", lambda: [ticket(t) for t in api.tickets.list_tickets()])
    call(
        "tickets.list_since",
        lambda: [
            ticket(t)
            for t in api.tickets.list_tickets(filter_name=None, updated_since=a.since, per_page=10)
        ],
    )
    call("tickets.list_watching", lambda: [ticket(t) for t in api.tickets.list_watched_tickets()])
    call("tickets.get", lambda: ticket(api.tickets.get_ticket(a.ticket_id)))
    call(
        "tickets.get_include",
        lambda: ticket(api.tickets.get_ticket(a.ticket_id, "stats", "requester", "company")),
    )
    call("tickets.get_missing", lambda: ticket(api.tickets.get_ticket(999999999)))
    call("contacts.list", lambda: plain(api.contacts.list_contacts(per_page=10)))
    call("contacts.list_email", lambda: plain(api.contacts.list_contacts(email=a.contact_email)))
    call("contacts.get", lambda: plain(api.contacts.get_contact(a.contact_id)))
    call("companies.list", lambda: plain(api.companies.list_companies()))
    call("companies.get", lambda: plain(api.companies.get_company(a.company_id)))
    call("agents.list", lambda: plain(api.agents.list_agents()))
    call("agents.get", lambda: plain(api.agents.get_agent(a.agent_id)))
    call("groups.list", lambda: plain(api.groups.list_groups()))
    call("groups.get", lambda: plain(api.groups.get_group(a.group_id)))
    call("roles.list", lambda: plain(api.roles.list_roles()))
    call("roles.get", lambda: plain(api.roles.get_role(a.role_id)))
    call("ticket_fields.list", lambda: plain(api.ticket_fields.list_ticket_fields()))

    # Tickets: create, converse, update, filter, delete.
    created = call(
        "tickets.create",
        lambda: ticket(
            api.tickets.create_ticket(
                "Printer on fire (pyclient)",
                description="<p>The printer is <b>on fire</b>.</p>",
                email="py.client@example.com",
                priority=2,
                source=2,
                tags=["pyclient"],
                type="Incident",
            ),
            source=True,
        ),
    )
    new_id = created["id"] if created else 0
    call("tickets.list_after_create", lambda: [t.id for t in api.tickets.list_tickets()])
    call(
        "comments.reply",
        lambda: comment(api.comments.create_reply(new_id, "<p>We are on it.</p>")),
    )
    call(
        "comments.note",
        lambda: comment(api.comments.create_note(new_id, "<p>Fire brigade called.</p>", private=True)),
    )
    call("comments.list", lambda: [comment(c) for c in api.comments.list_comments(new_id)])
    call(
        "tickets.update",
        lambda: ticket(
            api.tickets.update_ticket(
                new_id, status=3, priority=4, subject="Printer was on fire (pyclient)"
            ),
            source=True,
        ),
    )
    call("tickets.get_created", lambda: ticket(api.tickets.get_ticket(new_id), source=True))
    call("tickets.filter", lambda: [t.id for t in api.tickets.filter_tickets("priority:4")])
    doomed = call(
        "tickets.create_doomed",
        lambda: ticket(api.tickets.create_ticket("Delete me (pyclient)", email="py.client@example.com", description="x")),
    )
    doomed_id = doomed["id"] if doomed else 0
    call("tickets.delete", lambda: api.tickets.delete_ticket(doomed_id))
    call("tickets.get_deleted", lambda: ticket(api.tickets.get_ticket(doomed_id)))
    call("tickets.list_deleted", lambda: [t.id for t in api.tickets.list_deleted_tickets()])

    # Contacts: create, update, soft delete, restore; a second one deleted for good.
    contact = call(
        "contacts.create",
        lambda: plain(api.contacts.create_contact(name="Py Client", email="py.contact@example.com", job_title="Tester")),
    )
    contact_id = contact["id"] if contact else 0
    call("contacts.update", lambda: plain(api.contacts.update_contact(contact_id, job_title="Lead tester", phone="+1 555 0100")))
    call("contacts.soft_delete", lambda: api.contacts.soft_delete_contact(contact_id))
    call("contacts.get_soft_deleted", lambda: plain(api.contacts.get_contact(contact_id)))
    call("contacts.restore", lambda: api.contacts.restore_contact(contact_id))
    call("contacts.get_restored", lambda: plain(api.contacts.get_contact(contact_id)))
    gone = call("contacts.create_doomed", lambda: plain(api.contacts.create_contact(name="Gone Soon", email="py.gone@example.com")))
    gone_id = gone["id"] if gone else 0
    call("contacts.hard_delete", lambda: api.contacts.permanently_delete_contact(gone_id))
    call("contacts.get_hard_deleted", lambda: plain(api.contacts.get_contact(gone_id)))

    call(
        "contacts.list_since",
        lambda: plain(api.contacts.list_contacts(_updated_since=a.contacts_since)),
    )

    # Companies: create, update, delete.
    company = call(
        "companies.create",
        lambda: plain(api.companies.create_company(name="Py Client Ltd", description="made by pyclient", domains=["pyclient.example"])),
    )
    company_id = company["id"] if company else 0
    call("companies.update", lambda: plain(api.companies.update_company(company_id, description="updated by pyclient")))
    doomed_company = call("companies.create_doomed", lambda: plain(api.companies.create_company(name="Py Gone Ltd")))
    doomed_company_id = doomed_company["id"] if doomed_company else 0
    call("companies.delete", lambda: api.companies.delete_company(doomed_company_id))
    call("companies.get_deleted", lambda: plain(api.companies.get_company(doomed_company_id)))

    # Time entries (read) and the knowledge base: create, translate, update, list, delete.
    call(
        "time_entries.list_ticket",
        lambda: plain(api.time_entries.list_time_entries(a.ticket_id)),
    )
    call(
        "time_entries.list_billable",
        lambda: plain(api.time_entries.list_time_entries(billable="true")),
    )
    category = call(
        "solutions.create_category",
        lambda: plain(api.solutions.categories.create_category(name="Py Client KB", description="made by pyclient")),
    )
    category_id = category["id"] if category else 0
    call(
        "solutions.category_translation",
        lambda: plain(api.solutions.categories.create_category_translation(category_id, "fr", name="Base PyClient")),
    )
    call(
        "solutions.get_category_translated",
        lambda: plain(api.solutions.categories.get_category_translated(category_id, "fr")),
    )
    folder = call(
        "solutions.create_folder",
        lambda: plain(api.solutions.folders.create_folder(category_id, name="Py Folder", visibility=1)),
    )
    folder_id = folder["id"] if folder else 0
    article = call(
        "solutions.create_article",
        lambda: plain(api.solutions.articles.create_article(folder_id, title="Py Article", description="<p>Hello</p>", status=2)),
    )
    article_id = article["id"] if article else 0
    call(
        "solutions.update_article",
        lambda: plain(api.solutions.articles.update_article(article_id, title="Py Article 2")),
    )
    call("solutions.list_articles", lambda: plain(api.solutions.articles.list_from_folder(folder_id)))
    call("solutions.delete_category", lambda: api.solutions.categories.delete_category(category_id))
    call("solutions.get_deleted_article", lambda: plain(api.solutions.articles.get_article(article_id)))

    # A wrong key: the client's own auth error.
    wrong = API(a.domain, a.api_key + "-wrong")
    call("auth.wrong_key", lambda: plain(wrong.agents.currently_authenticated_agent()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
