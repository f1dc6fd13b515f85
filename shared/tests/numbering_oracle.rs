//! Differential test of `didroute_shared::numbering` against libphonenumber
//! (its Python port, the PyPI package `phonenumbers`, at the version the
//! table was generated from): the owning region and the possibility (the
//! calling code's lengths, narrowed to the owning region's) of a
//! deterministic sample of well over 100,000 numbers across every calling
//! code must agree. Python and phonenumbers are required: the test fails,
//! naming the pip command, when either is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use didroute_shared::numbering::{self, Region, METADATA_VERSION};
use didroute_shared::E164;

const SAMPLE_SIZE: usize = 100_000;
const MAX_REPORTED: usize = 25;

/// SplitMix64: a fixed seed gives the same sample on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn digit(&mut self) -> char {
        char::from(b'0' + self.below(10) as u8)
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/phonenumbers-oracle.py")
}

fn python(args: &[&str]) -> String {
    let out = Command::new("python3").arg(script()).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run python3 ({e}): install Python 3 and then `python3 -m pip install phonenumbers=={METADATA_VERSION}`")
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the oracle failed ({}): {stderr}\nrun `python3 -m pip install phonenumbers=={METADATA_VERSION}`",
        out.status
    );
    String::from_utf8(out.stdout).expect("utf-8 oracle output")
}

/// Calling code -> (possible lengths, example national numbers and leading
/// digits of its regions), from libphonenumber itself.
fn seeds() -> BTreeMap<u16, (Vec<usize>, Vec<String>)> {
    let mut codes: BTreeMap<u16, (Vec<usize>, Vec<String>)> = BTreeMap::new();
    for line in python(&["seeds", METADATA_VERSION]).lines() {
        let mut parts = line.split(' ');
        let code: u16 = parts.next().and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("bad seed line {line:?}"));
        let entry = codes.entry(code).or_default();
        match (parts.next(), parts.next()) {
            (Some("lengths"), Some(list)) => entry.0 = list.split(',').map(|l| l.parse().unwrap()).collect(),
            (Some(nsn), None) => entry.1.push(nsn.to_owned()),
            _ => panic!("bad seed line {line:?}"),
        }
    }
    codes
}

/// Mostly possible numbers: for every example of every region, numbers
/// that keep some of its first digits and go on with random ones up to one of
/// the code's possible lengths; for every code, numbers of random digits;
/// one in ten of any length from one short of the shortest to one past the
/// longest.
fn sample(codes: &BTreeMap<u16, (Vec<usize>, Vec<String>)>) -> Vec<String> {
    const PER_EXAMPLE: usize = 80;
    const PER_CODE: usize = 100;
    let mut rng = Rng(0x6469_6472_6f75_7465);
    let mut out = Vec::new();
    for (code, (lengths, examples)) in codes {
        assert!(!lengths.is_empty(), "+{code} has no possible lengths");
        let (shortest, longest) = (lengths[0], lengths[lengths.len() - 1]);
        let mut one = |rng: &mut Rng, example: &str| {
            let len = match rng.below(10) {
                0 => shortest.saturating_sub(1) + rng.below(longest - shortest + 3),
                _ => lengths[rng.below(lengths.len())],
            };
            let mut nsn: String = example.chars().take(rng.below(example.len() + 1).min(len)).collect();
            while nsn.len() < len {
                nsn.push(rng.digit());
            }
            out.push(format!("{code}{nsn}"));
        };
        for example in examples {
            for _ in 0..PER_EXAMPLE {
                one(&mut rng, example);
            }
        }
        for _ in 0..PER_CODE {
            one(&mut rng, "");
        }
    }
    out
}

#[test]
fn region_and_possibility_agree_with_libphonenumber() {
    let codes = seeds();
    assert!(codes.len() > 200, "libphonenumber lists only {} calling codes", codes.len());
    assert!(codes.contains_key(&383) && codes.contains_key(&800), "seeds miss +383 or +800");
    let numbers = sample(&codes);
    assert!(numbers.len() >= SAMPLE_SIZE, "{} numbers", numbers.len());

    let path = std::env::temp_dir().join(format!("didroute-numbering-oracle-{}.txt", std::process::id()));
    std::fs::write(&path, numbers.join("\n") + "\n").expect("write the sample");
    let answers = python(&["check", METADATA_VERSION, path.to_str().expect("utf-8 temp path")]);
    let _ = std::fs::remove_file(&path);
    let answers: Vec<&str> = answers.lines().collect();
    assert_eq!(answers.len(), numbers.len(), "the oracle answered a different number of lines");

    let mut mismatches = Vec::new();
    let mut possible = 0usize;
    let mut regions_seen = BTreeSet::new();
    for (digits, answer) in numbers.iter().zip(&answers) {
        let (want_region, want_possible) = answer.split_once(' ').expect("REGION POSSIBLE");
        let want_possible = want_possible == "1";
        let region = numbering::region_of_digits(digits).map(Region::alpha2);
        let got_region = match (region, want_region) {
            (None, "001") => "001",
            (None, _) => "-",
            (Some(r), _) => r,
        };
        let got_possible = numbering::is_possible_digits(digits);
        possible += usize::from(want_possible);
        regions_seen.extend(region);
        if got_region != want_region || got_possible != want_possible {
            mismatches.push(format!(
                "+{digits}: region {got_region} (libphonenumber {want_region}), possible {got_possible} (libphonenumber {want_possible})"
            ));
        }
        // The E164 entry points answer what the digit ones do.
        if let Ok(number) = E164::from_digits(digits) {
            assert_eq!(numbering::is_possible(number), got_possible, "+{digits}");
            assert_eq!(numbering::region(number).map(Region::alpha2), region, "+{digits}");
        }
    }
    assert!(
        possible * 2 > numbers.len(),
        "only {possible} of {} numbers are possible: the sample is off",
        numbers.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {} numbers disagree with libphonenumber {METADATA_VERSION}; the first:\n{}",
        mismatches.len(),
        numbers.len(),
        mismatches.iter().take(MAX_REPORTED).cloned().collect::<Vec<_>>().join("\n")
    );
    // Every region, the small ones of shared codes included, owns some of the
    // sample; except Western Sahara, whose numbers (+212 528…) libphonenumber
    // gives to Morocco, tried first with leading digits [5-8].
    let missing: Vec<_> =
        Region::all().map(Region::alpha2).filter(|r| !regions_seen.contains(r) && *r != "EH").collect();
    assert!(missing.is_empty(), "no sampled number belongs to {missing:?}");
}
