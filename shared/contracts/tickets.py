"""The new-requester contract between the scanner (a ticket opened by mail) and the directory.

A scanner rule may ask for a contact when no contact of the directory has the sender's address
(issue 21 item 3: "create the contact if the rule says so, through events"). The scanner cannot
write the directory's table, so it gives the contact an id derived from the tenant and the address
(one contact per address, however many mails arrive before the directory has made it), links the
ticket to that id at once, and puts this block in `ticket.created` (`new_contact`); the directory
creates the contact with exactly this id, once, and announces it with `contact.created`.
"""

from typing import Literal

from pydantic import BaseModel, Field


class NewRequester(BaseModel):
    contact_id: str = Field(description="The id the directory gives the new contact")
    email: str
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    owner_type: Literal["user", "group"] = Field("user", description="Who owns the contact: the ticket's owner")
    owner_id: str
