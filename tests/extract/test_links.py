"""URL boundaries and references: hyperlinks of the report are not indicators."""

from __future__ import annotations

import pytest

from minga.extract import extract_iocs


def found(text: str) -> list[tuple[str, str, bool]]:
    """(type, value, benign) of every indicator in ``text`` (benign ones included)."""
    return [(i.type.value, i.value, i.benign) for i in extract_iocs(text, include_benign=True)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Markdown image and link targets, and a URL that is the text of a link
        (
            "![alt text](https://raw.githubusercontent.com/acme/r/master/img/killchain.png)",
            [("url", "https://raw.githubusercontent.com/acme/r/master/img/killchain.png", True)],
        ),
        (
            "As [reported by cyberbit](https://www.cyberbit.com/blog/formbook-research)",
            [("url", "https://www.cyberbit.com/blog/formbook-research", True)],
        ),
        (
            "* [https://blog.acme.org/p/1](https://blog.acme.org/p/1)",
            [
                ("url", "https://blog.acme.org/p/1", True),
                ("url", "https://blog.acme.org/p/1", True),
            ],
        ),
        # HTML links and images, also with a space or a missing '=' before the value
        (
            '<li><a href="https://blog.acme.org/p/2">https://blog.acme.org/p/2</a></li>',
            [
                ("url", "https://blog.acme.org/p/2", True),
                ("url", "https://blog.acme.org/p/2", True),
            ],
        ),
        (
            '<center><img src ="https://raw.githubusercontent.com/acme/r/x.png"></img></center>',
            [("url", "https://raw.githubusercontent.com/acme/r/x.png", True)],
        ),
        (
            '<a href"https://urlhaus.acme.org/url/407605/">',
            [("url", "https://urlhaus.acme.org/url/407605/", True)],
        ),
        # defanged targets are written on purpose: indicators
        ("[panel](hxxp://evil[.]com/admin/)", [("url", "http://evil.com/admin/", False)]),
        # plain text, tables and code are not links
        ("C2: https://evil.com/gate.php", [("url", "https://evil.com/gate.php", False)]),
        ("|https://evil.com/gate.php|URL C2|", [("url", "https://evil.com/gate.php", False)]),
        (
            '$c2 = "https://evil.com/gate.php"; link["href"]="https://evil.com/s.css"',
            [("url", "https://evil.com/gate.php", False), ("url", "https://evil.com/s.css", False)],
        ),
        # a script tag's src is not a link of the document
        (
            '<script src="https://evil.com/skimmer.js">',
            [("url", "https://evil.com/skimmer.js", False)],
        ),
        # HTML quoted in a fenced code block is code (a phishing page), not a link
        (
            'Page:\n```html\n<a href="https://evil.com/login">Sign in</a>\n```\n',
            [("url", "https://evil.com/login", False)],
        ),
        (
            "~~~\n[x](https://evil.com/a)\n~~~\nthen [y](https://blog.acme.org/b)",
            [("url", "https://evil.com/a", False), ("url", "https://blog.acme.org/b", True)],
        ),
        # AsciiDoc link macros: url[text] and link:url[text]
        (
            "The https://www.misp-project.org[MISP] event is available",
            [("url", "https://www.misp-project.org", True)],
        ),
        (
            "on link:https://blog.acme.org/2018/09/27/lojax/[blog post]. Next",
            [("url", "https://blog.acme.org/2018/09/27/lojax/", True)],
        ),
        # ... but not a placeholder inside a URL, nor a defanged URL
        (
            "C2: http://evil.com/gate.php?id=[ID]",
            [("url", "http://evil.com/gate.php?id=[ID]", False)],
        ),
        ("C2: http://evil.com/[random].php", [("url", "http://evil.com/[random].php", False)]),
        ("C2: http://evil.com/g?{ID}&k=1.", [("url", "http://evil.com/g?{ID}&k=1", False)]),
        (
            "C2: hxxp://evil[.]com/a,hxxp://evil[.]com/b;http://x.org/c",
            [
                ("url", "http://evil.com/a", False),
                ("url", "http://evil.com/b", False),
                ("url", "http://x.org/c", False),
            ],
        ),
        ("Drop: evil[.]com/dl/[name].zip", [("url", "evil.com/dl/[name].zip", False)]),
        (
            "Exfil: hxxps://wnqd.navercloud[.]org/m/a.php?user=<user_id>&v=<Win_ver> and "
            "hxxp://barbatulus[.]xyz/<MAC address>/log",
            [
                ("url", "https://wnqd.navercloud.org/m/a.php?user=<user_id>&v=<Win_ver>", False),
                ("url", "http://barbatulus.xyz/<MAC address>/log", False),
            ],
        ),
        ("Markup: http://evil.com/<br>next", [("url", "http://evil.com/", False)]),
        (
            "Gets http://masseffect.space/<PC_Name>_<Hex_Drive_SN>/post.php or x.ink/{a-z0-9}[5].",
            [
                ("url", "http://masseffect.space/<PC_Name>_<Hex_Drive_SN>/post.php", False),
                ("url", "x.ink/{a-z0-9}[5]", False),
            ],
        ),
        (
            "From HTML source: https://drive.google.com/uc?export=download&amp;id=1vED0",
            [("url", "https://drive.google.com/uc?export=download&id=1vED0", False)],
        ),
        ("C2: hxxp://evil[.]com/x[text]", [("url", "http://evil.com/x", False)]),
    ],
)
def test_links_are_references(text: str, expected: list[tuple[str, str, bool]]) -> None:
    assert found(text) == expected


def test_a_linked_url_also_written_as_text_is_an_indicator_everywhere() -> None:
    text = "[sample](https://evil.com/a.exe)\n\n|URL|https://evil.com/a.exe|"
    assert found(text) == [
        ("url", "https://evil.com/a.exe", False),
        ("url", "https://evil.com/a.exe", False),
    ]


def test_links_are_dropped_unless_benign_ones_are_asked_for() -> None:
    text = "See [the blog](https://blog.acme.org/x) and hxxp://evil[.]com/y"
    assert [(i.type.value, i.value) for i in extract_iocs(text)] == [("url", "http://evil.com/y")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a space or a line break right after the scheme (tokenisers, PDF line wraps)
        (
            "the C&C server ( https:// host-manager.hopto.org ) .",
            [("url", "https://host-manager.hopto.org", "https:// host-manager.hopto.org")],
        ),
        ("see https://\nevil.com/x", [("url", "https://evil.com/x", "https://\nevil.com/x")]),
        ("both http:// and https:// are schemes", []),
        # a typo's extra slash
        (
            "|https[:]///pastebin[.]com/raw/tgP7S1Qe |",
            [
                (
                    "url",
                    "https://pastebin.com/raw/tgP7S1Qe",
                    "https[:]///pastebin[.]com/raw/tgP7S1Qe",
                )
            ],
        ),
        # an ellipsis ends a URL
        ("hxxp://evil[.]com/z… and more", [("url", "http://evil.com/z", "hxxp://evil[.]com/z")]),
        # AsciiDoc passthroughs (+x+, ++x++, +++x+++) close with as many '+' as they opened
        (
            "* `++http://20.3323sf[.]com/zz.php++`",
            [("url", "http://20.3323sf.com/zz.php", "http://20.3323sf[.]com/zz.php")],
        ),
        (
            "| `+https://turnscor[.]com/c.php+` | C&C",
            [("url", "https://turnscor.com/c.php", "https://turnscor[.]com/c.php")],
        ),
        (
            "- `+++hxxp://m.goudie[.]in:1024/?zz+++`.",
            [("url", "http://m.goudie.in:1024/?zz", "hxxp://m.goudie[.]in:1024/?zz")],
        ),
        (
            "- `++www.evil[.]com/gate.php++`",
            [("url", "www.evil.com/gate.php", "www.evil[.]com/gate.php")],
        ),
        # ... while a '+' that nothing opened stays part of the URL
        (
            "q=http://evil.com/search?q=a+b+ end",
            [("url", "http://evil.com/search?q=a+b+", "http://evil.com/search?q=a+b+")],
        ),
        # a scheme joined to another by '+' is not a scheme of its own
        ("svn+ssh://evil.com/repo", [("url", "evil.com/repo", "evil.com/repo")]),
    ],
)
def test_url_boundaries(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert [(i.type.value, i.value, i.raw) for i in extract_iocs(text)] == expected


def test_free_mail_mailboxes_are_indicators_but_their_sites_are_not() -> None:
    text = "From badguy@yahoo.com and x@live.com; see https://news.yahoo.com/a and yahoo.com"
    assert found(text) == [
        ("email", "badguy@yahoo.com", False),
        ("email", "x@live.com", False),
        ("url", "https://news.yahoo.com/a", True),
        ("domain", "yahoo.com", True),
    ]


def test_default_namespace_of_soap_services_is_benign() -> None:
    assert found('<SendClientInfo xmlns="http://tempuri.org/">') == [
        ("url", "http://tempuri.org/", True)
    ]
