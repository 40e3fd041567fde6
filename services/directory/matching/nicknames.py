"""A small map of given-name nicknames to one canonical name (accent- and case-folded).

Kept small on purpose: only the common Finnish, Swedish and English short forms whose formal
name is not in doubt. A wrong entry joins two different people's names, which costs more than a
missed nickname (a merge moves history and consent), so a name with two plausible formal names
(e.g. "Jan": Johannes or Jan) maps to none.
"""

from __future__ import annotations

# canonical name -> its short forms and spellings, written folded (lower case, no accents: "gosta")
_FORMS: dict[str, tuple[str, ...]] = {
    # Finnish
    "johannes": ("juha", "jussi", "juhani", "hannes", "juho"),
    "mikael": ("mikko", "mika", "micke", "michael", "mike"),
    "matias": ("matti", "mattias", "matthias", "matt"),
    "elisabet": ("liisa", "elisa", "liisi", "lisa", "liz", "elizabeth", "beth", "betty", "elsa"),
    "katariina": ("kati", "katri", "kaisa", "katja", "kaarina", "katarina", "katherine", "kate", "katie", "cathy"),
    "vilhelm": ("ville", "wilhelm", "william", "bill", "will", "willy"),
    "kaarle": ("kalle", "karl", "carl", "kaarlo", "charles", "charlie"),
    "olavi": ("olli", "olof", "olle", "olav"),
    "henrik": ("heikki", "henkka", "henry", "hank", "henrikki"),
    "susanna": ("sanna", "susanne", "susan", "sue"),
    "helena": ("leena", "lena", "helen", "helene", "elena"),
    "tuomas": ("tommi", "tomi", "tom", "tommy", "thomas", "tuomo"),
    "antero": ("antti", "anders", "andreas", "andrew", "andy"),
    "petteri": ("petri", "pekka", "peter", "pete", "per", "pelle"),
    "aleksanteri": ("aleksi", "alex", "alexander", "sasha", "santeri", "santtu"),
    "kristiina": ("tiina", "kirsi", "kristina", "stina", "christina", "tina", "kicki"),
    "margareta": ("maarit", "marketta", "maggie", "greta", "meg", "margaret"),
    # Swedish
    "lars": ("lasse", "lauri"),
    "nils": ("nisse", "niilo"),
    "bo": ("bosse",),
    "gustav": ("gosta", "gustaf", "kusti"),
    # English
    "robert": ("bob", "bobby", "rob", "robbie"),
    "richard": ("rick", "dick", "rich", "richie", "rikhard", "riku"),
    "james": ("jim", "jimmy", "jamie"),
    "joseph": ("joe", "joey", "josef", "jooseppi", "jope"),
    "david": ("dave", "davey", "taavetti", "taavi"),
    "daniel": ("dan", "danny", "taneli", "dani"),
    "christopher": ("chris", "kristoffer", "christoffer"),
    "nicholas": ("nick", "nicky", "niklas", "nicklas", "niko", "nikolai"),
    "samuel": ("sam", "sammy", "samu", "sami"),
    "benjamin": ("ben", "benny", "benji"),
    "anthony": ("tony", "anton", "antton"),
    "stephen": ("steve", "steven", "stefan", "teppo", "tapani", "steffe"),
    "jennifer": ("jenni", "jenny", "jen"),
    "patricia": ("pat", "patty", "tricia"),
}

NICKNAMES: dict[str, str] = {form: name for name, forms in _FORMS.items() for form in (name, *forms)}


def canonical_given_name(token: str) -> str:
    """The canonical form of one folded given-name token; the token itself when it has none."""
    return NICKNAMES.get(token, token)
