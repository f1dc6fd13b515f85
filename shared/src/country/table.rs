//! The country table: every ISO 3166-1 alpha-2 code with its English short
//! name, the E.164 prefixes of its numbers and its emergency number.
//!
//! A compiled table, not generated from one authority. Sources:
//! - codes and names: ISO 3166-1, the 249 officially assigned alpha-2 codes,
//!   with their English short names in the form the Debian iso-codes data
//!   keeps them;
//! - calling codes: ITU-T E.164, "List of ITU-T Recommendation E.164 assigned
//!   country codes" (annex to the ITU Operational Bulletin); area codes of the
//!   NANP members other than the US and Canada from the NANP administrator's
//!   list; the more specific prefixes of territories sharing a code (Guernsey,
//!   Jersey, Isle of Man, Åland, Svalbard, Vatican, San Marino, Mayotte,
//!   Christmas and Cocos Islands, Bonaire/Sint Eustatius/Saba, Curaçao,
//!   Western Sahara, Kazakhstan, Norfolk Island) from their numbering plans.
//!   Every calling code and NANP area code was cross-checked against the
//!   region metadata of Google's libphonenumber;
//! - emergency numbers: the national numbers as published by the
//!   administrations and gathered in the public "List of emergency telephone
//!   numbers" (ITU-T E.161.1 is the recommendation that names 112 and 911 as
//!   the numbers to choose); for the EU/EEA, 112 as the single European
//!   emergency number (Council Decision 91/396/EEC, now Directive (EU)
//!   2018/1972, the European Electronic Communications Code, art. 109).
//!   Rows for countries with several numbers are a judgement, explained below
//!   and in the comment above the row; correct them as better data comes.
//!
//! Compiled 2026-11-23 (commit 370eacf) from the sources above as they
//! stood then; Jamaica's row (119: a +1 number is not a 911 country by its
//! calling code) re-checked 2026-12-07 for issue 18.
//! [`AS_OF`] keeps the date for code that reports it.
//!
//! How the emergency number is chosen: the single number for all services where
//! the country has one (911 across the NANP members that use it, 112 across the
//! EU/EEA and most of Europe, 999, 000, 111, ...). Where a country has only
//! separate numbers, the police number, which is what mobile networks route 112
//! to in most of them; except in Japan, South Korea and Taiwan (and North
//! Korea), where the combined fire-and-ambulance number 119 is the one people
//! dial for a medical emergency, answered by the fire departments' dispatch
//! centres. A comment above a row names the other numbers where the choice was
//! not obvious. Territories without a service of their own (Antarctica, Bouvet,
//! Heard and McDonald, South Georgia, the French Southern Territories,
//! Pitcairn, Tokelau) take the number of the administering country, or 112, the
//! number every GSM/3GPP phone can dial.
//!
//! Prefixes: the calling code; NANP members other than the US and Canada use
//! "1" plus their area codes; countries that share a calling code list the
//! shared code and, where their numbering plan has them, the more specific
//! prefixes, so that [`super::countries_for_digits`] ranks the territory
//! first for its own ranges and still accepts its other numbers. Territories
//! without a code of their own list the code used there.

use super::CountryInfo;

/// When the table's emergency numbers were last checked against its sources.
pub const AS_OF: &str = "2026-12-07";

const fn row(
    alpha2: &'static str,
    name: &'static str,
    prefixes: &'static [&'static str],
    emergency: &'static str,
) -> CountryInfo {
    CountryInfo { alpha2, name, prefixes, emergency }
}

/// Sorted by `alpha2`: `Country` is an index into it and `Country::parse`
/// binary-searches it.
pub(super) static COUNTRIES: &[CountryInfo] = &[
    row("AD", "Andorra", &["376"], "112"),
    // AE: police; 998 ambulance, 997 fire
    row("AE", "United Arab Emirates", &["971"], "999"),
    // AF: police and fire; 112 ambulance
    row("AF", "Afghanistan", &["93"], "119"),
    row("AG", "Antigua and Barbuda", &["1268"], "911"),
    row("AI", "Anguilla", &["1264"], "911"),
    row("AL", "Albania", &["355"], "112"),
    // AM: unified rescue number; 112 also answers
    row("AM", "Armenia", &["374"], "911"),
    // AO: police; 112 ambulance, 115 fire
    row("AO", "Angola", &["244"], "113"),
    // AQ: no public service of its own: the GSM number
    row("AQ", "Antarctica", &["672"], "112"),
    row("AR", "Argentina", &["54"], "911"),
    row("AS", "American Samoa", &["1684"], "911"),
    row("AT", "Austria", &["43"], "112"),
    row("AU", "Australia", &["61"], "000"),
    row("AW", "Aruba", &["297"], "911"),
    row("AX", "Åland Islands", &["358", "35818"], "112"),
    row("AZ", "Azerbaijan", &["994"], "112"),
    // BA: also 122 police, 123 fire, 124 ambulance
    row("BA", "Bosnia and Herzegovina", &["387"], "112"),
    // BB: police; 311 fire, 511 ambulance; no 911
    row("BB", "Barbados", &["1246"], "211"),
    row("BD", "Bangladesh", &["880"], "999"),
    row("BE", "Belgium", &["32"], "112"),
    // BF: police; 18 fire
    row("BF", "Burkina Faso", &["226"], "17"),
    row("BG", "Bulgaria", &["359"], "112"),
    row("BH", "Bahrain", &["973"], "999"),
    // BI: police
    row("BI", "Burundi", &["257"], "117"),
    // BJ: police; 118 fire
    row("BJ", "Benin", &["229"], "117"),
    row("BL", "Saint Barthélemy", &["590"], "112"),
    row("BM", "Bermuda", &["1441"], "911"),
    // BN: police; 991 ambulance, 995 fire
    row("BN", "Brunei Darussalam", &["673"], "993"),
    // BO: police; 118 ambulance, 119 fire
    row("BO", "Bolivia, Plurinational State of", &["591"], "110"),
    row("BQ", "Bonaire, Sint Eustatius and Saba", &["599", "5993", "5994", "5997"], "911"),
    // BR: police, where 112 is routed; 192 ambulance, 193 fire
    row("BR", "Brazil", &["55"], "190"),
    row("BS", "Bahamas", &["1242"], "911"),
    // BT: police; 112 ambulance, 110 fire
    row("BT", "Bhutan", &["975"], "113"),
    // BV: uninhabited: Norway's number
    row("BV", "Bouvet Island", &["47"], "112"),
    // BW: police; 997 ambulance, 998 fire
    row("BW", "Botswana", &["267"], "999"),
    row("BY", "Belarus", &["375"], "112"),
    row("BZ", "Belize", &["501"], "911"),
    row("CA", "Canada", &["1"], "911"),
    row("CC", "Cocos (Keeling) Islands", &["61", "6189162"], "000"),
    row("CD", "Congo, The Democratic Republic of the", &["243"], "112"),
    // CF: police; 118 fire
    row("CF", "Central African Republic", &["236"], "117"),
    // CG: police; 118 fire
    row("CG", "Congo", &["242"], "117"),
    // CH: also 117 police, 118 fire, 144 ambulance
    row("CH", "Switzerland", &["41"], "112"),
    // CI: police; 180 fire, 185 ambulance
    row("CI", "Côte d'Ivoire", &["225"], "110"),
    row("CK", "Cook Islands", &["682"], "999"),
    // CL: police; 131 ambulance, 132 fire
    row("CL", "Chile", &["56"], "133"),
    // CM: police; 118 fire
    row("CM", "Cameroon", &["237"], "117"),
    // CN: police: the centres that take 112 from mobiles; 119 fire, 120 ambulance
    row("CN", "China", &["86"], "110"),
    row("CO", "Colombia", &["57"], "123"),
    row("CR", "Costa Rica", &["506"], "911"),
    // CU: police; 104 ambulance, 105 fire
    row("CU", "Cuba", &["53"], "106"),
    // CV: police; 130 ambulance, 131 fire
    row("CV", "Cabo Verde", &["238"], "132"),
    row("CW", "Curaçao", &["599", "5999"], "911"),
    row("CX", "Christmas Island", &["61", "6189164"], "000"),
    row("CY", "Cyprus", &["357"], "112"),
    row("CZ", "Czechia", &["420"], "112"),
    row("DE", "Germany", &["49"], "112"),
    // DJ: police; 18 fire
    row("DJ", "Djibouti", &["253"], "17"),
    row("DK", "Denmark", &["45"], "112"),
    row("DM", "Dominica", &["1767"], "999"),
    row("DO", "Dominican Republic", &["1809", "1829", "1849"], "911"),
    // DZ: police; 14 fire and ambulance
    row("DZ", "Algeria", &["213"], "17"),
    row("EC", "Ecuador", &["593"], "911"),
    row("EE", "Estonia", &["372"], "112"),
    // EG: police; 123 ambulance, 180 fire
    row("EG", "Egypt", &["20"], "122"),
    // EH: as Morocco
    row("EH", "Western Sahara", &["212", "2125288", "2125289"], "19"),
    // ER: police; 114 ambulance, 116 fire
    row("ER", "Eritrea", &["291"], "113"),
    row("ES", "Spain", &["34"], "112"),
    // ET: police; 907 ambulance, 939 fire
    row("ET", "Ethiopia", &["251"], "991"),
    row("FI", "Finland", &["358"], "112"),
    row("FJ", "Fiji", &["679"], "911"),
    row("FK", "Falkland Islands (Malvinas)", &["500"], "999"),
    row("FM", "Micronesia, Federated States of", &["691"], "911"),
    row("FO", "Faroe Islands", &["298"], "112"),
    // FR: also 15 medical, 17 police, 18 fire
    row("FR", "France", &["33"], "112"),
    // GA: police; 1300 ambulance, 18 fire
    row("GA", "Gabon", &["241"], "1730"),
    // GB: 112 also answers
    row("GB", "United Kingdom", &["44"], "999"),
    row("GD", "Grenada", &["1473"], "911"),
    row("GE", "Georgia", &["995"], "112"),
    row("GF", "French Guiana", &["594"], "112"),
    row("GG", "Guernsey", &["44", "441481", "447781", "447839", "447911"], "999"),
    row("GH", "Ghana", &["233"], "112"),
    // GI: 999 also answers
    row("GI", "Gibraltar", &["350"], "112"),
    row("GL", "Greenland", &["299"], "112"),
    // GM: police; 116 ambulance, 118 fire
    row("GM", "Gambia", &["220"], "117"),
    // GN: police; 18 fire
    row("GN", "Guinea", &["224"], "117"),
    row("GP", "Guadeloupe", &["590"], "112"),
    // GQ: police; 115 fire
    row("GQ", "Equatorial Guinea", &["240"], "113"),
    row("GR", "Greece", &["30"], "112"),
    // GS: no public service: the Falkland Islands' number
    row("GS", "South Georgia and the South Sandwich Islands", &["500"], "999"),
    // GT: police; 122 fire, 128 ambulance
    row("GT", "Guatemala", &["502"], "110"),
    row("GU", "Guam", &["1671"], "911"),
    // GW: police; 118 fire, 119 ambulance
    row("GW", "Guinea-Bissau", &["245"], "117"),
    row("GY", "Guyana", &["592"], "911"),
    row("HK", "Hong Kong", &["852"], "999"),
    // HM: uninhabited: Australia's number
    row("HM", "Heard Island and McDonald Islands", &["672"], "000"),
    row("HN", "Honduras", &["504"], "911"),
    row("HR", "Croatia", &["385"], "112"),
    // HT: police; 115 fire, 116 ambulance
    row("HT", "Haiti", &["509"], "114"),
    row("HU", "Hungary", &["36"], "112"),
    // ID: also 110 police, 113 fire, 118 ambulance
    row("ID", "Indonesia", &["62"], "112"),
    // IE: 999 answers the same way
    row("IE", "Ireland", &["353"], "112"),
    // IL: police; 101 ambulance, 102 fire
    row("IL", "Israel", &["972"], "100"),
    row("IM", "Isle of Man", &["44", "441624", "447524", "447624", "447924", "4474576"], "999"),
    row("IN", "India", &["91"], "112"),
    row("IO", "British Indian Ocean Territory", &["246"], "999"),
    // IQ: police; 115 fire, 122 ambulance
    row("IQ", "Iraq", &["964"], "104"),
    // IR: police; 115 ambulance, 125 fire
    row("IR", "Iran, Islamic Republic of", &["98"], "110"),
    row("IS", "Iceland", &["354"], "112"),
    row("IT", "Italy", &["39"], "112"),
    row("JE", "Jersey", &["44", "441534", "447509", "447700", "447797", "447829", "447937"], "999"),
    // JM: police; 110 fire and ambulance; Jamaica has no 911
    row("JM", "Jamaica", &["1876", "1658"], "119"),
    row("JO", "Jordan", &["962"], "911"),
    // JP: fire and ambulance; 110 police
    row("JP", "Japan", &["81"], "119"),
    // KE: 112 also answers
    row("KE", "Kenya", &["254"], "999"),
    row("KG", "Kyrgyzstan", &["996"], "112"),
    // KH: police; 118 fire, 119 ambulance
    row("KH", "Cambodia", &["855"], "117"),
    // KI: police; 193 fire, 194 ambulance
    row("KI", "Kiribati", &["686"], "192"),
    // KM: police; 18 fire
    row("KM", "Comoros", &["269"], "17"),
    row("KN", "Saint Kitts and Nevis", &["1869"], "911"),
    // KP: fire and ambulance, as in KR
    row("KP", "Korea, Democratic People's Republic of", &["850"], "119"),
    // KR: fire and ambulance; 112 police
    row("KR", "Korea, Republic of", &["82"], "119"),
    row("KW", "Kuwait", &["965"], "112"),
    row("KY", "Cayman Islands", &["1345"], "911"),
    row("KZ", "Kazakhstan", &["7", "76", "77"], "112"),
    // LA: police; 190 fire, 195 ambulance
    row("LA", "Lao People's Democratic Republic", &["856"], "191"),
    // LB: police; 140 ambulance, 175 fire
    row("LB", "Lebanon", &["961"], "112"),
    row("LC", "Saint Lucia", &["1758"], "911"),
    row("LI", "Liechtenstein", &["423"], "112"),
    // LK: police; 110 ambulance
    row("LK", "Sri Lanka", &["94"], "119"),
    row("LR", "Liberia", &["231"], "911"),
    row("LS", "Lesotho", &["266"], "112"),
    row("LT", "Lithuania", &["370"], "112"),
    row("LU", "Luxembourg", &["352"], "112"),
    row("LV", "Latvia", &["371"], "112"),
    // LY: police; 1415 ambulance
    row("LY", "Libya", &["218"], "1515"),
    // MA: police; 15 fire and ambulance, 177 gendarmerie
    row("MA", "Morocco", &["212"], "19"),
    row("MC", "Monaco", &["377"], "112"),
    row("MD", "Moldova, Republic of", &["373"], "112"),
    row("ME", "Montenegro", &["382"], "112"),
    row("MF", "Saint Martin (French part)", &["590"], "112"),
    // MG: police; 118 fire
    row("MG", "Madagascar", &["261"], "117"),
    row("MH", "Marshall Islands", &["692"], "911"),
    row("MK", "North Macedonia", &["389"], "112"),
    // ML: police; 15 ambulance, 18 fire
    row("ML", "Mali", &["223"], "17"),
    // MM: police; 191 fire, 192 ambulance
    row("MM", "Myanmar", &["95"], "199"),
    // MN: police; 101 fire, 103 ambulance
    row("MN", "Mongolia", &["976"], "102"),
    row("MO", "Macao", &["853"], "999"),
    row("MP", "Northern Mariana Islands", &["1670"], "911"),
    row("MQ", "Martinique", &["596"], "112"),
    // MR: police; 118 fire
    row("MR", "Mauritania", &["222"], "117"),
    // MS: 999 also answers
    row("MS", "Montserrat", &["1664"], "911"),
    row("MT", "Malta", &["356"], "112"),
    // MU: police; 114 ambulance, 115 fire
    row("MU", "Mauritius", &["230"], "999"),
    // MV: police; 102 ambulance, 118 fire
    row("MV", "Maldives", &["960"], "119"),
    // MW: police; 998 ambulance, 999 fire
    row("MW", "Malawi", &["265"], "997"),
    row("MX", "Mexico", &["52"], "911"),
    row("MY", "Malaysia", &["60"], "999"),
    // MZ: police; 117 ambulance, 198 fire
    row("MZ", "Mozambique", &["258"], "119"),
    // NA: police
    row("NA", "Namibia", &["264"], "10111"),
    // NC: police; 15 medical, 18 fire
    row("NC", "New Caledonia", &["687"], "17"),
    // NE: police; 15 ambulance, 18 fire
    row("NE", "Niger", &["227"], "17"),
    row("NF", "Norfolk Island", &["672", "6723"], "000"),
    row("NG", "Nigeria", &["234"], "112"),
    // NI: police; 115 fire, 128 ambulance
    row("NI", "Nicaragua", &["505"], "118"),
    row("NL", "Netherlands", &["31"], "112"),
    // NO: police; 110 fire, 113 ambulance
    row("NO", "Norway", &["47"], "112"),
    // NP: police; 101 fire, 102 ambulance
    row("NP", "Nepal", &["977"], "100"),
    // NR: police; 111 ambulance, 112 fire
    row("NR", "Nauru", &["674"], "110"),
    row("NU", "Niue", &["683"], "999"),
    row("NZ", "New Zealand", &["64"], "111"),
    row("OM", "Oman", &["968"], "9999"),
    row("PA", "Panama", &["507"], "911"),
    // PE: police; 106 ambulance, 116 fire
    row("PE", "Peru", &["51"], "105"),
    // PF: police; 15 medical, 18 fire
    row("PF", "French Polynesia", &["689"], "17"),
    // PG: police; 110 fire, 111 ambulance
    row("PG", "Papua New Guinea", &["675"], "112"),
    row("PH", "Philippines", &["63"], "911"),
    // PK: police; 115 ambulance, 16 fire, 1122 rescue
    row("PK", "Pakistan", &["92"], "15"),
    row("PL", "Poland", &["48"], "112"),
    row("PM", "Saint Pierre and Miquelon", &["508"], "112"),
    // PN: no emergency service of its own: the British number
    row("PN", "Pitcairn", &["64"], "999"),
    row("PR", "Puerto Rico", &["1787", "1939"], "911"),
    // PS: police; 101 ambulance, 102 fire
    row("PS", "Palestine, State of", &["970"], "100"),
    row("PT", "Portugal", &["351"], "112"),
    row("PW", "Palau", &["680"], "911"),
    row("PY", "Paraguay", &["595"], "911"),
    row("QA", "Qatar", &["974"], "999"),
    row("RE", "Réunion", &["262"], "112"),
    row("RO", "Romania", &["40"], "112"),
    // RS: also 192 police, 193 fire, 194 ambulance
    row("RS", "Serbia", &["381"], "112"),
    row("RU", "Russian Federation", &["7"], "112"),
    row("RW", "Rwanda", &["250"], "112"),
    row("SA", "Saudi Arabia", &["966"], "911"),
    row("SB", "Solomon Islands", &["677"], "999"),
    row("SC", "Seychelles", &["248"], "999"),
    row("SD", "Sudan", &["249"], "999"),
    row("SE", "Sweden", &["46"], "112"),
    // SG: police; 995 fire and ambulance
    row("SG", "Singapore", &["65"], "999"),
    row("SH", "Saint Helena, Ascension and Tristan da Cunha", &["290", "247"], "999"),
    row("SI", "Slovenia", &["386"], "112"),
    row("SJ", "Svalbard and Jan Mayen", &["47", "4779"], "112"),
    row("SK", "Slovakia", &["421"], "112"),
    row("SL", "Sierra Leone", &["232"], "999"),
    row("SM", "San Marino", &["378", "390549"], "112"),
    // SN: police; 15 ambulance, 18 fire
    row("SN", "Senegal", &["221"], "17"),
    // SO: police
    row("SO", "Somalia", &["252"], "888"),
    row("SR", "Suriname", &["597"], "115"),
    // SS: police
    row("SS", "South Sudan", &["211"], "777"),
    row("ST", "Sao Tome and Principe", &["239"], "112"),
    row("SV", "El Salvador", &["503"], "911"),
    row("SX", "Sint Maarten (Dutch part)", &["1721"], "911"),
    // SY: police; 110 ambulance, 113 fire
    row("SY", "Syrian Arab Republic", &["963"], "112"),
    // SZ: police; 977 ambulance, 933 fire
    row("SZ", "Eswatini", &["268"], "999"),
    row("TC", "Turks and Caicos Islands", &["1649"], "911"),
    // TD: police; 18 fire
    row("TD", "Chad", &["235"], "17"),
    // TF: no permanent population: France's number
    row("TF", "French Southern Territories", &["262"], "112"),
    // TG: police; 118 fire
    row("TG", "Togo", &["228"], "117"),
    // TH: police; 199 fire, 1669 ambulance
    row("TH", "Thailand", &["66"], "191"),
    row("TJ", "Tajikistan", &["992"], "112"),
    // TK: New Zealand's number
    row("TK", "Tokelau", &["690"], "111"),
    // TL: police; 110 ambulance, 115 fire
    row("TL", "Timor-Leste", &["670"], "112"),
    // TM: police; 01 fire, 03 ambulance
    row("TM", "Turkmenistan", &["993"], "02"),
    // TN: police; 190 ambulance, 198 fire
    row("TN", "Tunisia", &["216"], "197"),
    row("TO", "Tonga", &["676"], "911"),
    row("TR", "Türkiye", &["90"], "112"),
    // TT: police; 811 ambulance, 990 fire; no 911
    row("TT", "Trinidad and Tobago", &["1868"], "999"),
    row("TV", "Tuvalu", &["688"], "911"),
    // TW: fire and ambulance; 110 police, 112 from mobiles
    row("TW", "Taiwan, Province of China", &["886"], "119"),
    row("TZ", "Tanzania, United Republic of", &["255"], "112"),
    row("UA", "Ukraine", &["380"], "112"),
    // UG: 112 also answers
    row("UG", "Uganda", &["256"], "999"),
    // UM: US territory
    row("UM", "United States Minor Outlying Islands", &["1"], "911"),
    row("US", "United States", &["1"], "911"),
    row("UY", "Uruguay", &["598"], "911"),
    row("UZ", "Uzbekistan", &["998"], "112"),
    // VA: 379 is assigned to the Vatican but not in use
    row("VA", "Holy See (Vatican City State)", &["39", "379", "3906698"], "112"),
    row("VC", "Saint Vincent and the Grenadines", &["1784"], "911"),
    row("VE", "Venezuela, Bolivarian Republic of", &["58"], "911"),
    row("VG", "Virgin Islands, British", &["1284"], "911"),
    row("VI", "Virgin Islands, U.S.", &["1340"], "911"),
    // VN: police; 114 fire, 115 ambulance
    row("VN", "Viet Nam", &["84"], "113"),
    row("VU", "Vanuatu", &["678"], "112"),
    // WF: police; 15 medical, 18 fire
    row("WF", "Wallis and Futuna", &["681"], "17"),
    row("WS", "Samoa", &["685"], "999"),
    // YE: police; 191 ambulance, 199 fire
    row("YE", "Yemen", &["967"], "194"),
    row("YT", "Mayotte", &["262", "262269", "262639"], "112"),
    // ZA: police; 10177 ambulance, 112 from mobiles
    row("ZA", "South Africa", &["27"], "10111"),
    // ZM: police; 991 ambulance, 993 fire
    row("ZM", "Zambia", &["260"], "999"),
    row("ZW", "Zimbabwe", &["263"], "999"),
];
