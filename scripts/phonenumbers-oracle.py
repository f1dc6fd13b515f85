#!/usr/bin/env python3
"""libphonenumber (the PyPI package phonenumbers) as the oracle of
shared/tests/numbering_oracle.rs.

    phonenumbers-oracle.py seeds VERSION
        One line per calling code: "code lengths", lengths comma-separated
        (the possible national lengths libphonenumber checks for the code);
        then one line per example number: "code nsn", from every region's and
        every non-geographic entity's example numbers of every type.
    phonenumbers-oracle.py check VERSION FILE
        For each line of FILE (international digits, no '+'), one line:
        "REGION POSSIBLE", REGION being the region code of
        region_code_for_number ("-" for none, "001" for non-geographic) and
        POSSIBLE 1 when is_possible_number_with_reason says IS_POSSIBLE and
        the length is one of the owning region's possible lengths.

Exits 3 when the installed phonenumbers is not VERSION.
"""

import sys

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber, ValidationResult
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE


def split(digits):
    for n in (1, 2, 3):
        if int(digits[:n]) in COUNTRY_CODE_TO_REGION_CODE:
            return int(digits[:n]), digits[n:]
    return None, None


def number(cc, nsn):
    # Built field by field, not parsed: parsing would strip a trunk prefix
    # and the oracle must judge exactly these digits.
    zeros = len(nsn) - len(nsn.lstrip("0"))
    if nsn and not nsn.strip("0"):
        zeros -= 1  # all zeros: the last one is the national number 0
    num = PhoneNumber(country_code=cc, national_number=int(nsn) if nsn else 0)
    if zeros:
        num.italian_leading_zero = True
        num.number_of_leading_zeros = zeros if zeros > 1 else None
    return num


def seeds():
    out = []
    for cc in sorted(COUNTRY_CODE_TO_REGION_CODE):
        regions = COUNTRY_CODE_TO_REGION_CODE[cc]
        metas = (
            [PhoneMetadata.metadata_for_nongeo_region(cc)]
            if regions == ("001",)
            else [PhoneMetadata.metadata_for_region(r) for r in regions]
        )
        main = metas[0]
        out.append(f"{cc} lengths {','.join(str(x) for x in main.general_desc.possible_length)}")
        for meta in metas:
            for desc in (
                meta.general_desc,
                meta.fixed_line,
                meta.mobile,
                meta.toll_free,
                meta.premium_rate,
                meta.shared_cost,
                meta.personal_number,
                meta.voip,
                meta.pager,
                meta.uan,
                meta.voicemail,
            ):
                if desc is not None and desc.example_number:
                    out.append(f"{cc} {desc.example_number}")
            if meta.leading_digits:
                for alt in meta.leading_digits.split("|"):
                    lead = "".join(ch for ch in alt if ch.isdigit() and alt.isdigit())
                    if lead:
                        out.append(f"{cc} {lead}")
    print("\n".join(out))


def check(path):
    out = []
    with open(path, encoding="ascii") as f:
        for line in f:
            digits = line.strip()
            cc, nsn = split(digits)
            if cc is None:
                out.append("- 0")
                continue
            num = number(cc, nsn)
            region = phonenumbers.region_code_for_number(num) or "-"
            possible = phonenumbers.is_possible_number_with_reason(num) == ValidationResult.IS_POSSIBLE
            # and a length of the region that owns the number (libphonenumber
            # checks only the calling code's main region)
            owner = PhoneMetadata.metadata_for_region(region) if region not in ("-", "001") else None
            if owner is not None and len(nsn) not in owner.general_desc.possible_length:
                possible = False
            out.append(f"{region} {int(possible)}")
    print("\n".join(out))


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("seeds", "check"):
        sys.exit(__doc__)
    if phonenumbers.__version__ != sys.argv[2]:
        print(
            f"phonenumbers {phonenumbers.__version__} is installed, the table was generated from {sys.argv[2]}: "
            f"pip install phonenumbers=={sys.argv[2]}",
            file=sys.stderr,
        )
        sys.exit(3)
    if sys.argv[1] == "seeds":
        seeds()
    else:
        check(sys.argv[3])


if __name__ == "__main__":
    main()
