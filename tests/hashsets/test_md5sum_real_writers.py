"""md5sum-family lists shaped exactly as real writers write them (read from their public
source), with invented benign records (digests of `benign-sample-N`, made-up names):

* GNU coreutils `src/digest.c` (`output_file`, `print_filename`, `problematic_chars`):
  md5sum/sha*sum/cksum, `--tag`, `-z`, `cksum --base64`.
* FreeBSD `sbin/md5/md5.c` (macOS `md5` is the same tool): tagged default, `-r`, and the GNU /
  `shasum` emulation (`"%s %c%s"` with the input-mode char `*`, ` `, `U`, `^`).
* Perl `cpan/Digest-SHA/shasum` (macOS `/usr/bin/shasum`): `"$digest $modesym$file"`, names
  with `\\` or LF escaped behind a leading backslash.
* jessek/hashdeep `src/display.cpp` (`md5deep_display_hash`, `fmt_size`): md5deep plain,
  `-k`, `-z`, `-t`, `-c`.
* PolitoInc/X-Ways-HashExporter-Extension `XT_HashExporter.cpp`: `%02x` digests written as
  `wchar_t` (UTF-16LE, no BOM) with `L"\\r\\n"`; Windows PowerShell 5.1 `>` redirection
  (Out-File, UTF-16LE with BOM) of `Get-FileHash`'s upper-case `Hash`.
"""

from __future__ import annotations

import base64
import codecs

import pytest

from tests.hashsets.conftest import digests
from vigil.errors import HashSetFormatError
from vigil.hashsets import HashEntry, sniff_format
from vigil.hashsets.md5sum import Md5sumFormat

FMT = Md5sumFormat()
D1, D2, D3 = digests(1), digests(2), digests(3)


def read(path):
    assert sniff_format(path).name == "md5sum"
    return list(FMT.read(path))


def test_gnu_coreutils_md5sum_escaped_names_and_tag(write):
    """digest.c: `\\` first when the name holds `\\`, LF or CR; then `<hex> <mode><name>`, or
    with --tag `MD5 (<name>) = <hex>`; lower-case hex, LF line ends."""
    text = (
        f"{D1['md5']}  ./pics/benign 1.jpg\n"
        f"{D2['md5']} *./pics/benign-2.jpg\n"
        f"\\{D3['md5']}  ./pics/a\\\\b\\nc\\rd.jpg\n"
        f"MD5 (./pics/benign 1.jpg) = {D1['md5']}\n"
        f"\\MD5 (./pics/x\\\\y.jpg) = {D2['md5']}\n"
    )
    assert read(write("sums.md5", text)) == [
        HashEntry(md5=D1["md5"], name="./pics/benign 1.jpg"),
        HashEntry(md5=D2["md5"], name="./pics/benign-2.jpg"),
        HashEntry(md5=D3["md5"], name="./pics/a\\b\nc\rd.jpg"),
        HashEntry(md5=D1["md5"], name="./pics/benign 1.jpg"),
        HashEntry(md5=D2["md5"], name="./pics/x\\y.jpg"),
    ]


def test_gnu_sha256sum_tag_and_untagged(write):
    text = f"SHA256 (a.jpg) = {D1['sha256']}\n{D2['sha256']}  b.jpg\n"
    assert read(write("list.txt", text)) == [
        HashEntry(sha256=D1["sha256"], name="a.jpg"),
        HashEntry(sha256=D2["sha256"], name="b.jpg"),
    ]


def test_gnu_zero_terminated_records_are_not_escaped(write):
    """`-z`: each record ends in NUL instead of LF and names are printed raw (no leading
    backslash, LF and `\\` kept as they are)."""
    data = (
        f"{D1['md5']}  one.jpg\0{D2['md5']}  two\nlines\\.jpg\0MD5 (three.jpg) = {D3['md5']}\0"
    ).encode()
    assert read(write("sums.md5", data)) == [
        HashEntry(md5=D1["md5"], name="one.jpg"),
        HashEntry(md5=D2["md5"], name="two\nlines\\.jpg"),
        HashEntry(md5=D3["md5"], name="three.jpg"),
    ]


def test_gnu_zero_terminated_bad_record_is_numbered(write):
    data = f"{D1['md5']}  one.jpg\0nonsense\0".encode()
    with pytest.raises(HashSetFormatError, match="not an md5sum line") as info:
        list(FMT.read(write("sums.md5", data)))
    assert info.value.line == 2


def test_gnu_cksum_base64_and_tagged_default(write):
    """cksum -a sha256 --base64 / -a md5 / -a sha1: tagged lines, base64 digests with --base64."""
    b64 = {k: base64.b64encode(bytes.fromhex(D1[k])).decode() for k in ("md5", "sha1", "sha256")}
    text = (
        f"SHA256 (a.jpg) = {b64['sha256']}\n"
        f"MD5 (a.jpg) = {b64['md5']}\n"
        f"SHA1 (a.jpg) = {b64['sha1']}\n"
        f"MD5 (b.jpg) = {D2['md5']}\n"
    )
    assert read(write("cksum.txt", text)) == [
        HashEntry(sha256=D1["sha256"], name="a.jpg"),
        HashEntry(md5=D1["md5"], name="a.jpg"),
        HashEntry(sha1=D1["sha1"], name="a.jpg"),
        HashEntry(md5=D2["md5"], name="b.jpg"),
    ]
    with pytest.raises(HashSetFormatError, match="base64"):
        list(FMT.read(write("bad.txt", f"SHA256 (a.jpg) = {b64['md5']}\n")))
    with pytest.raises(HashSetFormatError, match="unsupported digest"):
        list(FMT.read(write("b2.txt", f"BLAKE2b-256 (a.jpg) = {D1['sha256']}\n")))


def test_freebsd_macos_md5_tagged_reverse_and_shasum_modes(write):
    """md5.c: tagged `MD5 (name) = hex` by default, `-r` `"%s %s"` (one blank, name raw: no
    escaping, a backslash is literal), GNU/shasum mode `"%s %c%s"` with `*`, ` `, `^`; Perl's
    older shasum wrote `?` for portable mode."""
    text = (
        f"MD5 (Pictures/cat.jpg) = {D1['md5']}\n"
        f"{D2['md5']} Pictures/dog\\1.jpg\n"
        f"{D1['sha1']} ^bits.txt\n"
        f"{D2['sha1']} ?portable.txt\n"
        f"{D3['sha1']} *binary.jpg\n"
        f"{D3['sha256']}  text.jpg\n"
    )
    assert read(write("mac.txt", text)) == [
        HashEntry(md5=D1["md5"], name="Pictures/cat.jpg"),
        HashEntry(md5=D2["md5"], name="Pictures/dog\\1.jpg"),
        HashEntry(sha1=D1["sha1"], name="bits.txt"),
        HashEntry(sha1=D2["sha1"], name="portable.txt"),
        HashEntry(sha1=D3["sha1"], name="binary.jpg"),
        HashEntry(sha256=D3["sha256"], name="text.jpg"),
    ]


def test_perl_shasum_escapes_backslash_and_newline(write):
    """shasum: `$digest = "\\\\$digest"` and `s/\\\\/\\\\\\\\/g; s/\\n/\\\\n/g` on the name."""
    text = f"\\{D1['sha1']}  dir\\\\new\\nline.jpg\n{D2['sha256']}  plain.jpg\n"
    assert read(write("SHA1SUMS", text)) == [
        HashEntry(sha1=D1["sha1"], name="dir\\new\nline.jpg"),
        HashEntry(sha256=D2["sha256"], name="plain.jpg"),
    ]


def test_md5deep_plain_asterisk_size_time_and_csv(write):
    """md5deep_display_hash: [size `%10llu` + `  ` (`, ` with -c)] hash [` `/`,` time
    `%Y:%m:%d:%H:%M:%S` with -t] then `  ` (` *` with -k, `,` with -c) and the name; Windows
    builds end lines with CRLF."""
    text = (
        f"{D1['md5']}  C:\\evidence\\one.jpg\r\n"
        f"{D2['md5']} *C:\\evidence\\two.jpg\r\n"
        f"        15  {D3['md5']}  C:\\evidence\\three.jpg\r\n"
        f"{D1['sha256']} 2024:01:02:03:04:05  /evidence/four.jpg\r\n"
        f"{D2['sha1']},/evidence/five, with comma.jpg\r\n"
        f"      1234, {D3['sha1']},/evidence/six.jpg\r\n"
    )
    got = read(write("md5deep.txt", text))
    assert got == [
        HashEntry(md5=D1["md5"], name="C:\\evidence\\one.jpg"),
        HashEntry(md5=D2["md5"], name="C:\\evidence\\two.jpg"),
        HashEntry(md5=D3["md5"], name="C:\\evidence\\three.jpg", size=15),
        HashEntry(
            sha256=D1["sha256"],
            name="/evidence/four.jpg",
            extra=(("date_modified", "2024-01-02T03:04:05Z"),),
        ),
        HashEntry(sha1=D2["sha1"], name="/evidence/five, with comma.jpg"),
        HashEntry(sha1=D3["sha1"], name="/evidence/six.jpg", size=1234),
    ]


def test_headerless_two_digest_csv_is_refused(write):
    with pytest.raises(HashSetFormatError, match="needs a header"):
        list(FMT.read(write("x.txt", f"{D1['md5']},{D1['sha1']},a.jpg\n")))


def test_hashdeep_file_is_not_an_md5sum_list(write):
    """hashdeep's `%%%% HASHDEEP-1.0` files are their own format; md5sum does not claim them."""
    text = f"%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n3,{D1['md5']},a.jpg\n"
    path = write("known.txt", text)
    assert not FMT.sniff(path, path.read_bytes())
    with pytest.raises(HashSetFormatError, match="not an md5sum line") as info:
        list(FMT.read(path))
    assert info.value.line == 1


def test_xways_hash_exporter_utf16le_without_bom(write):
    """XT_HashExporter: `WriteFile(hashValue, wcslen*sizeof(wchar_t))` then `L"\\r\\n"`."""
    text = f"{D1['md5']}\r\n{D2['md5']}\r\n"
    assert read(write("TEST-1_Hashes.txt", text.encode("utf-16-le"))) == [
        HashEntry(md5=D1["md5"]),
        HashEntry(md5=D2["md5"]),
    ]


def test_powershell_51_redirected_get_filehash_is_utf16_with_bom(write):
    """`(Get-FileHash -Algorithm SHA1 *).Hash > hashes.txt` in Windows PowerShell 5.1:
    Out-File's default "Unicode" encoding, BOM, CRLF, upper-case hex."""
    text = f"{D1['sha1'].upper()}\r\n{D2['sha1'].upper()}\r\n"
    data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    assert read(write("hashes.txt", data)) == [
        HashEntry(sha1=D1["sha1"]),
        HashEntry(sha1=D2["sha1"]),
    ]
    assert list(FMT.read(write("be.txt", codecs.BOM_UTF16_BE + text.encode("utf-16-be")))) == [
        HashEntry(sha1=D1["sha1"]),
        HashEntry(sha1=D2["sha1"]),
    ]
