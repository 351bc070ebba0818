"""The judgements of eval/csc-practice: how each query's grades were given, and the qrels they make.

Run from the repository root, after ``eval/csc-reports/extract.py`` and ``pool.py``::

    python eval/csc-practice/judging.py /tmp/qset-texts eval/csc-practice/pool.json          # write qrels
    python eval/csc-practice/judging.py /tmp/qset-texts eval/csc-practice/pool.json --show t05 12  # read

``--show QID N`` prints, for every document with at least N places matching the query's pattern,
the count and up to three passages (for reading at and around the cut-offs); ``--counts QID``
prints each pooled document's count and grade.

Every document of the corpora is graded for every query, so documents no system returned are judged
too (the pooling-bias additions, counted in the summary this prints). The qrels list every pooled
document (0 where not relevant) and every relevant document.

How a query is graded (README.md says why):

- ``PATTERN[qid] = (regex, cut2, cut1)``: an *inspection* is 2 when its text matches the regex in at
  least ``cut2`` places, 1 at ``cut1`` or more (texts lower-cased, whitespace collapsed, curly
  quotes straightened). The cut-offs were set by reading passages at and below them.
- ``HAND[qid]``: grades given by reading, which override the pattern: the non-inspection documents
  (DfE, ADCS, Data to Insight), known items, and inspections whose hits were false or whose
  passages read otherwise than the count says.
- ``GRADED``: queries graded from each inspection's own overall judgement (``overall_grade``).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Byte-identical copies of one inspection in the two folders: judged the same.
TWINS = {"ofsted_camden_2017-11-24": "camden_2017-11-24", "ofsted_hackney_2024-08-20": "hackney_2024-08-20"}
INSPECTION = re.compile(r"^(ofsted_)?[a-z-]+_\d{4}-\d\d-\d\d$")
# ofsted-ilacs/ofsted_csc_ilacs_overview.xlsx (each council's grades and its statistical neighbours' grades)
# would be 2 for l01 and l08, but kb ingest does not index it (kb eval lists it as unmatched), so it
# is not judged.

PATTERN: dict[str, tuple[str, int, int]] = {
    # topics
    "t01": (r"county lines|criminal(ly)? exploit|drug (running|dealing)|dealing drugs", 3, 1),
    "t02": (r"unborn|pre-birth|prebirth|pre-natal|antenatal|before (the baby|babies are|a baby is) (is )?born", 3, 1),
    "t03": (r"domestic abuse|domestic violence", 8, 3),
    "t04": (r"substance misuse|substance use|drug and alcohol|alcohol and drug|alcohol misuse|drug misuse|"
            r"parental (drug|alcohol)", 3, 1),
    "t05": (r"neglect", 8, 3),
    "t06": (r"out of area|out-of-area|outside the (local authority|local|council's|borough|county|city) (area|boundar)|"
            r"at a distance|miles (away )?from|distance from (their )?home|far from (their )?home|"
            r"away from their (home )?(area|communit)|live (a long way )?away from (their|home)", 4, 2),
    "t07": (r"unregistered", 3, 1),
    "t08": (r"homeless", 6, 2),
    "t09": (r"(camhs|mental health)[^.]{0,150}(wait|delay)|(wait|delay)[^.]{0,150}(camhs|mental health)", 2, 1),
    "t10": (r"short breaks?|disabled children|children with (a )?disabilit", 6, 3),
    "t11": (r"home educat|children missing (from )?education|missing (from )?education", 6, 2),
    "t12": (r"kinship|connected (carer|person|persons)|family and friends (care|carer|foster)|special guardian", 7, 3),
    "t13": (r"voice of the child|child's voice|children's voices?|wishes and feelings|direct work", 11, 4),
    "t14": (r"radicali[sz]|extremis|prevent duty|\bprevent (team|programme|strategy|lead|coordinator|referral)|"
            r"channel panel", 3, 1),
    "t15": (r"private(ly)? foster", 6, 2),
    "t16": (r"sibling|brothers and sisters", 4, 2),
    "t17": (r"drift", 7, 2),
    "t18": (r"changes? (of|in|to) (their )?social workers?|changes? of (worker|practitioner)|"
            r"(many|several|number of) (different )?social workers|same social worker|consistent social worker|"
            r"stability of (social )?workers?|changed social worker|new social worker", 7, 2),
    "t19": (r"young carers?", 3, 1),
    "t20": (r"designated officer|\blado\b|allegations? (made )?against", 6, 2),
    "t21": (r"no recourse to public funds|\bnrpf\b", 2, 1),
    # questions
    "q01": (r"public law outline|\bplo\b|pre-proceedings|legal (planning|gateway|panel|meeting)|"
            r"care proceedings|issue proceedings|legal threshold", 12, 4),
    "q02": (r"exploit|extra-familial|contextual safeguarding|outside the home|outside of the home", 15, 5),
    "q03": (r"(recruit|retain|retention)[^.]{0,60}foster|foster[^.]{0,60}(recruit|retain|retention)|"
            r"in-house foster", 4, 2),
    "q04": (r"supervision", 8, 3),
    "q05": (r"sexual(ly)? abuse|sexually abused|sexual assault referral|\bsarc\b|harmful sexual behaviour", 2, 1),
    "q06": (r"adopt[^.]{0,100}(timel|delay|quickly|swift|promptly|average time|days|months)|"
            r"(timel|delay|quickly|swift|promptly)[^.]{0,100}adopt", 6, 2),
    "q07": (r"in care council|\bcicc?\b|children in care forum|care leavers'? forum|care experienced (forum|council)|"
            r"children and young people's council|child in care council|children's council|participation group", 5, 2),
    "q08": (r"independent reviewing officer|\biros?\b|\biro's\b|escalat", 13, 5),
    "q09": (r"front door|\bmash\b|multi-agency safeguarding hub|contacts? and referrals?|first response|"
            r"single point of (contact|access)|integrated front door", 13, 4),
    "q10": (r"data ?set|data items?|data standard|children in need census|\bssd\b", 99, 99),
    "q11": (r"time (spent )?(on )?(recording|administrat|paperwork)|administrative (burden|tasks)|"
            r"duplicat(e|ion|ing)[^.]{0,40}(record|data entry)|recording (burden|takes)", 99, 1),
    "q12": (r"(increase[sd]?|rise|rising|growth|surge|increasing)( in)?( the)? (demand|referrals|contacts|number of "
            r"children)|demand (has|have) (increased|risen|grown)|increasing demand|rising demand|"
            r"demand pressures?", 3, 2),
    "q13": (r"health assessments?|health checks?|dental (checks?|appointments?|care)|immunisation", 6, 2),
    "q14": (r"inadequate", 99, 99),  # graded from overall_grade; see GRADED
    "q15": (r"education, employment (or|and) training|\bneet\b|\beet\b|apprenticeships?|university|higher education|"
            r"into (work|employment)", 8, 3),
    # leaders
    "l01": (r"outstanding", 99, 99),  # graded from overall_grade
    "l02": (r"caseloads?|case loads?|workloads?", 9, 3),
    "l03": (r"agency (social )?(workers?|staff|managers|practitioners)|interim (staff|workers|managers)|locum", 3, 2),
    "l04": (r"sufficiency|shortage of (suitable )?(placements|foster|homes|carers)|"
            r"not enough (placements|homes|foster)|"
            r"lack of (suitable )?(placements|homes)|placement choice|range of (suitable )?placements|"
            r"availability of (suitable )?(placements|homes)", 5, 2),
    "l05": (r"children's services trust|children's trust|children first\b|achieving for children|together for children|"
            r"delegat", 99, 99),  # graded by hand
    "l06": (r"corporate parent", 7, 3),
    "l07": (r"audit|quality assurance", 13, 5),
    "l08": (r"statistical neighbou?r|similar (local authorities|areas)|comparator", 3, 1),
    "l09": (r"turnover|recruitment and retention|vacanc(y|ies)|workforce stability|stable workforce|"
            r"(recruit|retain)(ing|ment)? (of )?(experienced |qualified )?(social workers|staff)", 7, 2),
    "l10": (r"(changes|turnover|instability|churn) (in|of|to) (the )?(senior|leadership|management team|director|dcs)|"
            r"interim (director|dcs|leadership|senior)|(several|many|number of) (changes of )?directors|"
            r"permanent (director|dcs|senior)|acting director", 3, 1),
    # models
    "m01": (r"signs of safety", 2, 1),
    "m02": (r"(?<!child and )family safeguarding( model| approach| service| team)?|hertfordshire model", 2, 1),
    "m03": (r"strengthening families", 2, 1),
    "m04": (r"\bpause\b", 99, 99),  # graded by hand: 'pause' is mostly a verb
    "m05": (r"staying close", 2, 1),
    "m06": (r"lifelong links|life-long links", 2, 1),
    "m07": (r"graded care profile|\bgcp ?2?\b", 2, 1),
    "m08": (r"families first|family help|pathfinder", 99, 99),  # graded by hand
    "m09": (r"troubled families|supporting families|payment by results", 2, 1),
    "m10": (r"multi-?systemic|\bmst\b", 2, 1),
    "m11": (r"family drug and alcohol court|\bfdac\b", 2, 1),
    "m12": (r"mind of my own|\bmomo\b", 2, 1),
    "m13": (r"partners? in practice", 2, 1),
}

# Known items: the document asked for is 2; nothing else is relevant unless said here.
KNOWN = {
    "k01": {"Childrens_Social_Care_National_Framework__Dec_2023": 2},
    "k02": {"birmingham_2023-04-18": 2},
    "k03": {"ofsted_lambeth_2015-05-12": 2},
    "k04": {"ofsted_kent_2013-08-23": 2},
    "k05": {"ADCS_Safeguarding_Pressures_Phase9_FINAL": 2},
    "k06": {"adoption_statutory_guidance_2013": 2},
    "k07": {"providing_effective_advocacy": 2},
    "k08": {"Children_in_need_census_2023_to_2024_guide_v1.0": 2},
    "k09": {"Reimagining Case Management in Children's Social Care Pilot - NYC Evaluation": 2},
    "k10": {"slough_2014-02-14": 2},
    "k11": {"Evaluation of the outcomes and impact of the TFD and associated": 2},
    "k12": {"Understanding social worker recording (Essex)": 2},
    "k13": {"isles-of-scilly_2019-12-19": 2, "isles-of-scilly_2023-08-25": 2},
    "k14": {"Childrens_social_care_dashboard_supporting_information_Oct_2024": 2},
}

# Grades given by reading (override the pattern). The non-inspection documents are graded here by
# reading the places they name the subject; a model's inspections by reading each sentence naming it
# (2: the council uses it; 1: planned, starting, or support from it; 0: a false hit, e.g. a local
# service that only shares the name). See README.md.
T_CAMDEN, T_HACKNEY = "camden_2017-11-24", "hackney_2024-08-20"
ADCS, CIN, NF = "ADCS_Safeguarding_Pressures_Phase9_FINAL", "Children_in_need_census_2023_to_2024_guide_v1.0", \
    "Childrens_Social_Care_National_Framework__Dec_2023"
DASH, FFC, NVEST = "Childrens_social_care_dashboard_supporting_information_Oct_2024", \
    "Families_first_for_children_pathfinder_implementation_and_process_evaluation_report", "NVEST Newsletter June 25"
TFD, NYC = "Evaluation of the outcomes and impact of the TFD and associated", \
    "Reimagining Case Management in Children's Social Care Pilot - NYC Evaluation"
ESSEX = "Understanding social worker recording (Essex)"
SSD = "Standard Safeguarding Dataset - Final Report April 2024 v1.0"
D2IP, DIAG = "CSC for Data People v1.0 2024-05-21", "D2I Data Service Diagnostic - Template v1.2 April 2024"
ADOPT, ADVOC = "adoption_statutory_guidance_2013", "providing_effective_advocacy"


def _all(grade_: int, *stems: str) -> dict[str, int]:
    return {stem: grade_ for stem in stems}


HAND: dict[str, dict[str, int]] = {
    "t01": {ADCS: 1, CIN: 1, NF: 1, TFD: 1},
    "t02": {ADCS: 1, CIN: 1},
    "t03": {ADCS: 1, CIN: 1, NF: 1, TFD: 1, FFC: 1},
    "t04": {ADCS: 1, CIN: 1, NF: 1, FFC: 1},
    "t05": {CIN: 1, NF: 1},
    "t07": {ADCS: 1},
    "t09": {ADCS: 1},
    "t10": {NF: 1, CIN: 1},
    "t11": {ADCS: 2},  # section 2.10 "Elective home education"
    "t12": {NF: 2, ADCS: 1, ADOPT: 1},
    "t13": {NF: 1, ESSEX: 1, ADOPT: 1, ADVOC: 1},
    "t14": {NF: 1},
    "t15": {CIN: 1, NF: 1},
    "t16": {ADOPT: 1, NF: 1},
    "t19": {NF: 1, CIN: 1},
    "t21": {ADCS: 1},
    "q01": {ADCS: 1, NF: 1, ADOPT: 1},
    "q02": {NF: 2, ADCS: 1, TFD: 1, FFC: 1, CIN: 1},
    "q03": {ADCS: 1},
    "q04": {NF: 1, FFC: 1},
    "q05": {CIN: 1, NF: 1},
    "q06": {ADOPT: 2},
    "q07": {ESSEX: 1},
    "q08": {ADVOC: 1, ADOPT: 1},
    "q09": {FFC: 1, D2IP: 1, TFD: 1},
    "q10": {SSD: 2, CIN: 2, D2IP: 1, DIAG: 1, "coe_improving-data-quality": 1, ESSEX: 1, DASH: 1, NVEST: 1},
    "q11": {ESSEX: 2, NYC: 1},
    "q12": {ADCS: 2},
    "q13": {ADOPT: 1},
    "q14": {"havering_2018-07-23": 1},  # only its care leavers' service had been inadequate
    "q15": {NF: 1},
    "l02": {FFC: 1, ESSEX: 1, NYC: 1, ADCS: 1},
    "l03": {ADCS: 2, NF: 1},
    "l04": {ADCS: 2},
    "l05": {**_all(2, "birmingham_2019-01-17", "birmingham_2023-04-18", "doncaster_2018-01-19", "doncaster_2022-04-08",
                   "kingston-upon-thames_2019-12-19", "north-northamptonshire_2022-11-25",
                   "west-northamptonshire_2022-11-25", "richmond-upon-thames_2022-03-18", "sandwell_2022-07-05",
                   "slough_2019-03-04", "slough_2023-03-17", "sunderland_2018-07-25", "sunderland_2021-08-20",
                   "sunderland_2025-03-11", "windsor-and-maidenhead_2020-02-24", "windsor-and-maidenhead_2024-11-19",
                   "worcestershire_2023-07-14"),
            "doncaster_2025-03-18": 1},  # the trust decommissioned, services back in the council
    "l06": {NF: 1},
    "l07": {ESSEX: 1},
    "l08": {D2IP: 1, DASH: 1, NYC: 1},
    "l09": {ADCS: 2, DASH: 1},
    "m01": {**_all(2, "darlington_2018-05-21", "doncaster_2018-01-19", "milton-keynes_2021-12-17", "norfolk_2018-01-19",
                   "ofsted_lambeth_2015-05-12", "sandwell_2018-01-29", "solihull_2016-07-07", "somerset_2018-01-29",
                   "stockton-on-tees_2016-08-05", "surrey_2018-05-16", "torbay_2018-08-24",
                   "tower-hamlets_2017-04-07", "wandsworth_2018-07-20"),
            "sandwell_2015-06-05": 1, FFC: 1},
    "m02": {**_all(2, "hertfordshire_2018-11-19", "hertfordshire_2023-03-10", "lancashire_2023-01-26",
                   "leicestershire_2024-07-12", "luton_2020-02-24", "luton_2022-09-05", "peterborough_2018-08-06",
                   "peterborough_2024-01-30", "portsmouth_2023-07-03", "surrey_2022-03-09",
                   "west-berkshire_2022-05-04", "west-sussex_2023-05-11"),
            "nottinghamshire_2024-07-12": 1},
    "m03": {"buckinghamshire_2018-01-29": 2, "windsor-and-maidenhead_2015-05-13": 2, FFC: 1,
            **_all(0, "bristol_2018-10-22", "east-riding-of-yorkshire_2023-03-24", "kingston-upon-thames_2019-12-19",
                   "london-corporation_2024-11-05", "sandwell_2022-07-05", "telford-and-wrekin_2020-03-02",
                   "telford-and-wrekin_2024-07-12", "warwickshire_2022-02-01", "wolverhampton_2022-05-18")},
    "m04": _all(2, "hackney_2016-09-21", "newham_2019-03-25", "st-helens_2019-11-04", "wiltshire_2019-07-22"),
    "m05": {**_all(2, "cambridgeshire_2019-02-18", "hartlepool_2024-05-16", "sheffield_2019-08-27",
                   "sheffield_2023-11-03", "southampton_2023-07-28", "suffolk_2019-05-21", "suffolk_2024-08-21",
                   "gateshead_2025-01-29"),
            **_all(1, "portsmouth_2018-10-15", "cheshire-east_2024-05-16", "doncaster_2022-04-08",
                   "wirral_2024-02-02", NF)},
    "m06": {**_all(2, "coventry_2022-08-12", "hertfordshire_2023-03-10", "islington_2025-01-29", "kent_2022-07-05",
                   "stockport_2022-05-18", "tower-hamlets_2025-01-13"),
            "warrington_2024-07-30": 1,
            **_all(0, "doncaster_2025-03-18", "wandsworth_2023-01-13", "west-sussex_2023-05-11")},
    "m07": {**_all(2, "barnsley_2018-11-19", "blackburn-with-darwen_2022-03-18", "bolton_2018-06-12",
                   "cornwall_2019-11-05", "coventry_2022-08-12", "dudley_2018-12-10", "herefordshire_2018-07-23",
                   "southend-on-sea_2024-12-03", "st-helens_2019-11-04", "stockport_2022-05-18",
                   "stockton-on-tees_2016-08-05", "swindon_2019-08-12"),
            "norfolk_2023-01-13": 1, "solihull_2016-07-07": 1},
    "m08": {FFC: 2, NVEST: 2, ADCS: 1, "leicestershire_2024-07-12": 2,
            **_all(1, "hampshire_2024-07-23", "doncaster_2025-03-18", "redbridge_2024-07-23",
                   "cumberland_2024-11-26", "northumberland_2024-07-12")},
    "m09": {**_all(2, "bradford_2018-10-29", "halton_2015-02-03", "lambeth_2018-05-09", "ofsted_lambeth_2015-05-12",
                   "rotherham_2018-01-29", "sandwell_2015-06-05", "solihull_2016-07-07",
                   "stockton-on-tees_2016-08-05", "windsor-and-maidenhead_2015-05-13",
                   "worcestershire_2017-01-24", TFD),
            **_all(1, "south-tyneside_2023-05-10", "southend-on-sea_2024-12-03", ADCS, FFC, D2IP)},
    "m10": {**_all(2, "doncaster_2025-03-18", "kirklees_2019-08-05", "kirklees_2024-08-28", "leeds_2018-12-18",
                   "leicester_2021-11-12", "london-corporation_2024-11-05", "nottingham_2019-01-07",
                   "rotherham_2018-01-29", "rutland_2024-07-12", "sandwell_2018-01-29", "sandwell_2022-07-05")},
    "m11": {**_all(2, "east-sussex_2018-09-04", "east-sussex_2024-02-06", "kent_2022-07-05", "leeds_2018-12-18",
                   "milton-keynes_2021-12-17", "milton-keynes_2024-12-17", "redbridge_2024-07-23",
                   "southampton_2023-07-28", "stockport_2022-05-18", "walsall_2021-11-26",
                   "wandsworth_2018-07-20"),
            "solihull_2020-01-09": 1},
    "m12": {**_all(2, "cambridgeshire_2019-02-18", "haringey_2018-12-14", "havering_2018-07-23",
                   "hertfordshire_2018-11-19", "lancashire_2018-08-17", "middlesbrough_2020-01-24",
                   "newham_2019-03-25", "northumberland_2020-03-02", "sandwell_2018-01-29", "somerset_2018-01-29",
                   "sunderland_2018-07-25", "sunderland_2025-03-11"),
            "warwickshire_2017-07-14": 1},
    "m13": {**_all(2, "essex_2019-01-07", "hampshire_2019-06-11", "kensington-and-chelsea_2019-10-15",
                   "leeds_2018-12-18", "lincolnshire_2019-06-11", "north-tyneside_2020-04-15",
                   "north-yorkshire_2018-08-06", "stockport_2022-05-18"),
            **_all(1, "harrow_2025-03-04", "lewisham_2024-01-31", "luton_2020-02-24", "middlesbrough_2023-05-25",
                   "southend-on-sea_2019-08-27", "swindon_2019-08-12", "westminster_2019-10-15")},
}
# Models, l05 and m08: an inspection not named in HAND is 0 (every hit was read and graded above).
BY_HAND_ONLY = {"l05", "m01", "m02", "m03", "m04", "m05", "m06", "m07", "m08", "m09", "m10", "m11", "m12", "m13"}

GRADED = {"l01", "q14"}

OVERALL = re.compile(r"overall effectiveness:? (outstanding|good|requires improvement to be good|requires improvement|"
                     r"inadequate)")
OVERALL_OLD = re.compile(r"(?:overall judgement is(?: that children's services (?:are|is|require))?|"
                         r"children's services in [a-z ,.-]{2,40}? (?:are|is|require)) "
                         r"(outstanding|good|inadequate|improvement|requires? improvement)")


def normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).replace("\u2019", "'").replace("\u2018", "'")


def overall_grade(text: str) -> str | None:
    """The inspection's own overall judgement, from its first page (None for other documents)."""
    match = OVERALL.search(text[:1500]) or OVERALL_OLD.search(text[:4000])
    if not match:
        return None
    grade = match.group(1)
    return "requires improvement" if "improvement" in grade else grade


def load(texts_dir: Path) -> dict[str, str]:
    return {p.stem: normal(p.read_text(encoding="utf-8")) for p in sorted(texts_dir.glob("*.txt"))}


def grade(qid: str, stem: str, text: str) -> int:
    if qid in KNOWN:
        return KNOWN[qid].get(stem, 0)
    hand = HAND.get(qid, {})
    if stem in hand:
        return hand[stem]
    if stem in TWINS and TWINS[stem] in hand:
        return hand[TWINS[stem]]
    if not INSPECTION.match(stem) or qid in BY_HAND_ONLY:
        return 0
    if qid in GRADED:
        return graded(qid, text)
    regex, cut2, cut1 = PATTERN[qid]
    count = len(re.findall(regex, text))
    return 2 if count >= cut2 else 1 if count >= cut1 else 0


def graded(qid: str, text: str) -> int:
    overall = overall_grade(text)
    if qid == "l01":
        if overall == "outstanding":
            return 2
        # A report whose overall grade is lower but whose own judgement table grades a part outstanding.
        return 1 if re.search(r"^.{0,900}(care leavers|in care|help and protection|leaders)[^.]{0,120} outstanding",
                              text[:1500]) else 0
    # q14: an inspection that is no longer inadequate and says the last one was.
    if overall in (None, "inadequate"):
        return 0
    before = re.search(r"(previous|last|prior|preceding) (ilacs |single |sif |full )?inspection[^.]{0,160}inadequate|"
                       r"inadequate[^.]{0,60}(previous|last|prior) inspection|judged (to be )?inadequate in 20\d\d|"
                       r"(were|was) (judged |found )?(to be )?inadequate in 20\d\d|from inadequate", text)
    if not before:
        return 0
    return 2 if overall in ("good", "outstanding") else 1


def main(argv: list[str]) -> None:
    texts_dir, pool_file = Path(argv[0]), Path(argv[1])
    texts = load(texts_dir)
    pool = json.loads(pool_file.read_text(encoding="utf-8"))
    queries = [json.loads(line) for line in (HERE / "queries.jsonl").read_text(encoding="utf-8").splitlines() if line]
    if len(argv) >= 4 and argv[2] == "--show":
        show(texts, argv[3], int(argv[4]) if len(argv) > 4 else 1)
        return
    if len(argv) >= 4 and argv[2] == "--counts":
        qid = argv[3]
        regex = PATTERN.get(qid, ("$^", 0, 0))[0]
        pooled = sorted({s for ranked in pool[qid].values() for s in ranked})
        for stem in pooled:
            text = texts.get(stem, "")
            print(f"{grade(qid, stem, text) if stem in texts else '-'}  {len(re.findall(regex, text)):4d}  {stem}")
        return
    lines = ["query-id\tcorpus-id\tscore"]
    pooled_total = added = 0
    per_grade = {0: 0, 1: 0, 2: 0}
    judged_docs: set[str] = set()
    for query in queries:
        qid = query["_id"]
        pooled = {s for ranked in pool[qid].values() for s in ranked}
        pooled_total += len(pooled)
        grades = {stem: grade(qid, stem, text) for stem, text in texts.items()}
        for stem in sorted(set(grades) | pooled):
            g = grades.get(stem, 0)  # a pooled stem with no text (README, the unreadable Birmingham 2012): 0
            if g == 0 and stem not in pooled:
                continue
            if g > 0 and stem not in pooled:
                added += 1
            lines.append(f"{qid}\t{stem}\t{g}")
            per_grade[g] += 1
            judged_docs.add(stem)
    (HERE / "qrels").mkdir(exist_ok=True)
    (HERE / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines) - 1} judgements ({per_grade[2]} of grade 2, {per_grade[1]} of grade 1, {per_grade[0]} of "
          f"grade 0) over {len(judged_docs)} documents; {pooled_total} pooled (query, document) pairs; "
          f"{added} relevant documents no system returned in its top 20 (pooling-bias additions)")


def show(texts: dict[str, str], qid: str, least: int) -> None:
    regex = PATTERN[qid][0]
    rows = sorted(((len(re.findall(regex, t)), s) for s, t in texts.items()), reverse=True)
    for count, stem in rows:
        if count < least:
            break
        text = texts[stem]
        print(f"== {count} {stem} (grade {grade(qid, stem, text)})")
        for m in list(re.finditer(regex, text))[:3]:
            print("   ..." + text[max(0, m.start() - 150):m.end() + 150] + "...")


if __name__ == "__main__":
    main(sys.argv[1:])
