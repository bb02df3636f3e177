"""HashKeeper `.hsh` files shaped exactly as real writers wrote them, with invented benign
records:

* NDIC HashKeeper itself (closed source): the sample record in NIST's RDS conversion script
  notes (D. White, NIST, Feb 2003: `29294,5,"MSFS.HLP","C:\\WINDOWS\\HELP","0EAF…",34832,
  7/11/95 0:00:00,12/30/99 9:50:00,"PST",,,`): ids and size bare, names, directory, MD5 and
  zone quoted, date/time bare, empty trailing fields; Windows-era CRLF and 8-bit names.
* avriette/perl `Data-EnCase-HashList` (`serialize`): the header from a heredoc, so two
  blank lines follow it, then every field quoted (`'"' . join('","', …) . '"'`), empty
  strings for what it lacks, and `File::Basename` directories ending in `/`.
* What the readers accept, for the directory: sleuthkit `tsk/hashdb/hashkeeper.c`
  (`hk_parse_md5`: directory may be absent/unquoted) and FTimes `hashdig-harvest.pl`
  (`^\\d+,\\d+,"[^"]+",(?:|"[^"]+"),"([0-9A-Fa-f]{32})",.*$`).
"""

from __future__ import annotations

from tests.hashsets.conftest import digests
from vigil.hashsets import sniff_format
from vigil.hashsets.hashkeeper import HashKeeperFormat

FMT = HashKeeperFormat()
HEADER = (
    '"file_id","hashset_id","file_name","directory","hash","file_size","date_modified",'
    '"time_modified","time_zone","comments","date_accessed","time_accessed"'
)
D1, D2, D3 = digests(1), digests(2), digests(3)


def test_ndic_hashkeeper_record_shape(write):
    text = (
        HEADER + "\r\n"
        f'29294,5,"BENIGN.HLP","C:\\WINDOWS\\HELP","{D1["md5"].upper()}",34832,'
        '7/11/95 0:00:00,12/30/99 9:50:00,"PST",,,\r\n'
        f'29295,5,"Caf\xe9, menu.txt",,"{D2["md5"].upper()}",15,7/11/95 0:00:00,'
        '12/30/99 9:50:00,"PST","test set",,\r\n'
    )
    path = write("set.hsh", text, encoding="cp1252")
    assert sniff_format(path).name == "hashkeeper"
    a, b = FMT.read(path)
    assert (a.md5, a.name, a.size) == (D1["md5"], "BENIGN.HLP", 34832)
    assert a.extras() == {"directory": "C:\\WINDOWS\\HELP", "hashset_id": "5"}
    assert (b.md5, b.name, b.size) == (D2["md5"], "Café, menu.txt", 15)
    assert b.extras() == {"hashset_id": "5", "comments": "test set"}


def test_perl_data_encase_hashlist_all_quoted_after_blank_lines(write):
    rows = [
        ["1", "1", "cat.jpg", "./pics/", D1["md5"], "", "", "", "", "", "", ""],
        ["1", "1", "dog.jpg", "./pics/", D3["md5"], "", "", "", "", "", "", ""],
    ]
    body = "".join('"' + '","'.join(r) + '"\n' for r in rows)
    path = write("set.hsh", HEADER + "\n\n\n" + body)
    assert sniff_format(path).name == "hashkeeper"
    got = list(FMT.read(path))
    assert [(e.md5, e.name, e.size) for e in got] == [
        (D1["md5"], "cat.jpg", None),
        (D3["md5"], "dog.jpg", None),
    ]
    assert got[0].extras() == {"directory": "./pics/", "hashset_id": "1"}
