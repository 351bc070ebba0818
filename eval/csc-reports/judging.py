"""How the judgements in qrels/test.tsv were made: the queries, and for each the rule or the list that grades it.

Run from the repository root, after ``extract.py`` has written the texts::

    python eval/csc-reports/extract.py ../shared/corpora /tmp/csc-texts
    python eval/csc-reports/judging.py /tmp/csc-texts eval/csc-reports

It rewrites queries.jsonl and qrels/test.tsv. The judgements were written, and committed on their
own, before any evaluation run; do not change them to suit a ranking.

Three kinds of grade (2 = substantially answers the query or is the known item; 1 = relevant in
part; unlisted = not relevant):

- ``listed``: grades given by hand after reading the passages (known items, practice models, the
  DfE/ADCS/D2I documents for every query);
- ``mentions``: for practice models and rarer topics, every inspection report whose text names the
  model or topic was found with the pattern and its passages read; the hand grade is in the
  ``listed`` part where it differs from the rule (e.g. 1 for a plan not yet in place, nothing for a
  false hit such as "pause and reflect");
- ``density``: for topics nearly every inspection touches (exploitation, missing children,
  neglect...), an inspection report is graded by how many times it discusses the topic: 2 at or
  above ``two``, 1 at or above ``one``; the cut-offs were set by reading passages of reports at
  and around them. Only inspection reports (``<council>_<date>``, also the ``ofsted_`` copies)
  are graded by rule; the 21 other documents are graded by hand for every query.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

INSPECTION = re.compile(r"^(ofsted_)?[a-z-]+_\d{4}-\d\d-\d\d$")
# Byte-identical copies (csc-reports/README.md): whatever one is graded, the other gets the same grade.
COPIES = {"camden_2017-11-24": "ofsted_camden_2017-11-24", "hackney_2024-08-20": "ofsted_hackney_2024-08-20"}


@dataclass
class Query:
    id: str
    text: str
    kind: str  # model, topic, leader, known-item, question
    listed: dict[str, int] = field(default_factory=dict)
    pattern: str | None = None  # a regex over the text with whitespace collapsed, case-insensitive
    two: int | None = None  # grade-2 cut-off in matches (None: the pattern never gives 2)
    one: int | None = None  # grade-1 cut-off in matches (None: the pattern never gives 1)
    drop: tuple[str, ...] = ()  # pattern hits read and found not relevant


FS = "Families_first_for_children_pathfinder_implementation_and_process_evaluation_report"
NF = "Childrens_Social_Care_National_Framework__Dec_2023"
CIN = "Children_in_need_census_2023_to_2024_guide_v1.0"
ADCS = "ADCS_Safeguarding_Pressures_Phase9_FINAL"
ESSEX = "Understanding social worker recording (Essex)"
NYC = "Reimagining Case Management in Children's Social Care Pilot - NYC Evaluation"
SSD = "Standard Safeguarding Dataset - Final Report April 2024 v1.0"
TFD = "Evaluation of the outcomes and impact of the TFD and associated"
DATA = "CSC for Data People v1.0 2024-05-21"
DASH = "Childrens_social_care_dashboard_supporting_information_Oct_2024"
ADV = "providing_effective_advocacy"
ADOPT = "adoption_statutory_guidance_2013"

QUERIES: list[Query] = [
    # --- practice models and programmes ---------------------------------------------------------
    Query("m01", "Mockingbird fostering", "model", pattern=r"mockingbird", two=1,
          listed={"plymouth_2024-03-15": 1, "staffordshire_2024-01-12": 1}),
    Query("m02", "No Wrong Door", "model",
          listed={"north-yorkshire_2018-08-06": 2, "dorset_2021-11-19": 2, "stockport_2022-05-18": 2,
                  "middlesbrough_2020-01-24": 1}),
    Query("m03", "Family Safeguarding model with adult specialists in the team", "model",
          listed={"hertfordshire_2018-11-19": 2, "hertfordshire_2023-03-10": 2, "lancashire_2023-01-26": 2,
                  "portsmouth_2023-07-03": 2, "peterborough_2018-08-06": 2, "peterborough_2024-01-30": 1,
                  "luton_2020-02-24": 2, "luton_2022-09-05": 1, "surrey_2022-03-09": 2, "west-berkshire_2022-05-04": 1,
                  "leicestershire_2024-07-12": 1, "nottinghamshire_2024-07-12": 1, "west-sussex_2023-05-11": 1}),
    Query("m04", "Signs of Safety", "model", pattern=r"signs of safety", two=1,
          listed={"sandwell_2015-06-05": 1, "milton-keynes_2021-12-17": 1, FS: 1}),
    Query("m05", "Lifelong Links family finding for children in care", "model",
          listed={"coventry_2022-08-12": 2, "hertfordshire_2023-03-10": 2, "islington_2025-01-29": 2,
                  "kent_2022-07-05": 2, "tower-hamlets_2025-01-13": 2, "stockport_2022-05-18": 1,
                  "warrington_2024-07-30": 1, "doncaster_2025-03-18": 1, "wandsworth_2023-01-13": 1,
                  "west-sussex_2023-05-11": 1}),
    Query("m06", "Staying Close for young people leaving residential care", "model", pattern=r"staying close", two=1,
          listed={"cheshire-east_2024-05-16": 1, "doncaster_2022-04-08": 1, "portsmouth_2018-10-15": 1,
                  "wirral_2024-02-02": 1, NF: 1}),
    Query("m07", "Pause programme for mothers who have had children removed", "model",
          listed={"hackney_2016-09-21": 2, "st-helens_2019-11-04": 2, "wiltshire_2019-07-22": 2,
                  "newham_2019-03-25": 1}),
    Query("m08", "contextual safeguarding", "model", pattern=r"contextual safeguarding", two=2, one=1,
          listed={ADCS: 1}),
    Query("m09", "restorative practice", "model", pattern=r"restorative (practice|approach|model|way)", two=2, one=1),
    Query("m10", "systemic practice model", "model", pattern=r"systemic (practice|model|approach|unit)", two=2, one=1,
          listed={ESSEX: 1, ADCS: 0, TFD: 0, "calderdale_2018-12-19": 0}),
    Query("m11", "family group conferencing", "model", pattern=r"family group conferenc|family group decision", two=3,
          one=2, listed={FS: 2, NF: 1}),
    Query("m12", "Mind of My Own app", "model", pattern=r"mind of my own|\bmomo\b", two=1),
    Query("m13", "graded care profile neglect tool", "model", pattern=r"graded care profile", two=1,
          listed={"solihull_2016-07-07": 1, "norfolk_2023-01-13": 1}),
    Query("m14", "trauma-informed practice", "model", pattern=r"trauma.?informed", two=2, one=1,
          listed={ESSEX: 1, ADCS: 0}),
    Query("m15", "family hubs", "model", pattern=r"family hubs?\b", two=3, one=1, listed={ADCS: 2, FS: 1}),
    # --- topics in a practitioner's own words ---------------------------------------------------
    Query("t01", "teenagers at risk of exploitation", "topic", pattern=r"exploit", two=10, one=6,
          listed={NF: 1, ADCS: 1, CIN: 1}),
    Query("t02", "children going missing from care", "topic",
          pattern=r"\b(go|goes|going|went|gone|been|being|are|were|is|was) missing\b|"
          r"missing from (home|care)|missing episodes?|episodes of (going )?missing", two=8, one=5,
          listed={CIN: 1}),
    Query("t03", "children who arrive alone seeking asylum", "topic", pattern=r"unaccompanied|asylum", two=7, one=4,
          listed={NF: 1, ADCS: 2}),
    Query("t04", "private fostering arrangements", "topic", pattern=r"private(ly)? fost", two=5, one=3,
          listed={CIN: 1}),
    Query("t05", "support for young carers", "topic", pattern=r"young carers?\b", two=3, one=2, listed={NF: 1}),
    Query("t06", "children placed in unregistered children's homes", "topic", pattern=r"unregistered", two=3, one=2,
          listed={ADCS: 1}),
    Query("t07", "social workers have too many cases", "topic", pattern=r"caseloads?", two=7, one=5,
          listed={FS: 1}),
    Query("t08", "help for disabled children and their families", "topic",
          pattern=r"disabled children|children with disabilit|disabled young|children with (a )?disabilit",
          two=6, one=4,
          listed={NF: 1, CIN: 1}),
    Query("t09", "neglect", "topic", pattern=r"neglect", two=8, one=5, listed={NF: 1, CIN: 1}),
    Query("t10", "children living with domestic abuse", "topic", pattern=r"domestic abuse|domestic violence", two=8,
          one=5, listed={NF: 1, CIN: 1}),
    Query("t11", "county lines drug running", "topic", pattern=r"county lines", two=2, one=1, listed={NF: 1}),
    Query("t12", "homeless 16 and 17 year olds", "topic",
          pattern=r"homeless(ness)? (16|sixteen)|(16|sixteen).? and (17|seventeen).?year.?olds?.{0,80}homeless|"
                  r"homeless.{0,80}(16|sixteen).? and (17|seventeen)", two=2, one=1, listed={ADCS: 1}),
    Query("t13", "keeping children on the edge of care at home with their families", "topic", pattern=r"edge of care",
          two=3, one=2),
    Query("t14", "kinship care and special guardianship", "topic", pattern=r"kinship|special guardian", two=6, one=4,
          listed={NF: 2, ADOPT: 1, ADCS: 1}),
    # --- leaders ---------------------------------------------------------------------------------
    Query("l01", "councils judged inadequate overall", "leader"),  # from the judgement tables, below
    Query("l02", "outstanding children's services", "leader"),
    Query("l03", "children who need help and protection judged inadequate", "leader"),
    Query("l04", "rising demand and safeguarding pressures on children's services", "leader",
          listed={ADCS: 2, "adcsorguk-adcs-safeguarding-page": 1, DASH: 1}),
    Query("l05", "Families First for Children pathfinder evaluation", "leader", listed={FS: 2}),
    Query("l06", "replacing case management systems in children's social care", "leader",
          listed={NYC: 2, "coe_making-sense-of-case-management-systems": 2, "NVEST Newsletter June 25": 1,
                  ESSEX: 1, DATA: 1}),
    Query("l07", "improving data quality in children's social care", "leader",
          listed={"coe_improving-data-quality": 2, DATA: 1, SSD: 1,
                  "D2I Data Service Diagnostic - Template v1.2 April 2024": 1, TFD: 1}),
    Query("l08", "social worker turnover and reliance on agency staff", "leader",
          pattern=r"turnover|agency (social )?(workers?|staff)|agency workforce", two=6, one=4,
          listed={ADCS: 2, FS: 1, DASH: 1}),
    # --- known items -----------------------------------------------------------------------------
    Query("k01", "Dorset's edge of care programme", "known-item", listed={"dorset_2021-11-19": 2}),
    Query("k02", "Hackney inspection 2019", "known-item", listed={"hackney_2019-12-20": 2}),
    Query("k03", "Birmingham children's services inspection 2023", "known-item", listed={"birmingham_2023-04-18": 2}),
    Query("k04", "Camden 2017 Ofsted inspection", "known-item", listed={"camden_2017-11-24": 2}),
    Query("k05", "children in need census guide 2023 to 2024", "known-item", listed={CIN: 2}),
    Query("k06", "statutory guidance on adoption", "known-item", listed={ADOPT: 2}),
    Query("k07", "Essex study of how social workers record", "known-item", listed={ESSEX: 2}),
    Query("k08", "Children's Social Care National Framework", "known-item", listed={NF: 2}),
    Query("k09", "Standard Safeguarding Dataset", "known-item", listed={SSD: 2}),
    Query("k10", "Kent children's services inspection 2022", "known-item", listed={"kent_2022-07-05": 2}),
    Query("k11", "Troubled Families programme evaluation", "known-item", listed={TFD: 2}),
    Query("k12", "North Yorkshire case management pilot evaluation", "known-item", listed={NYC: 2}),
    # --- questions ---------------------------------------------------------------------------------
    Query("q01", "how do councils support care leavers with housing?", "question",
          pattern=r"(care leavers?|young people leaving care|care-experienced)[^.]{0,200}"
                  r"(housing|accommodation|tenanc|homeless|staying put)|"
                  r"(housing|accommodation|tenanc|homeless|staying put)[^.]{0,200}(care leavers?|care-experienced)",
          two=6, one=4, listed={NF: 2, ESSEX: 1, ADCS: 1}),
    Query("q02", "what happens in a return home interview after a child goes missing?", "question",
          pattern=r"return home interview", two=5, one=3),
    Query("q03", "how should advocacy be provided for children?", "question", pattern=r"advoca", two=8, one=6,
          listed={ADV: 2, NF: 1, ESSEX: 1}),
    Query("q04", "what does the virtual school do for children in care?", "question", pattern=r"virtual school",
          two=7, one=5, listed={NF: 1}),
    Query("q05", "what data do councils return on children in need?", "question",
          listed={CIN: 2, DATA: 1, SSD: 1, DASH: 1}),
]

OVERALL = re.compile(r"Overall effectiveness:?\s*(Outstanding|Good|Requires improvement(?: to be good)?|Inadequate)",
                     re.I)
HELP = re.compile(r"children who need help and protection:?\s*(Outstanding|Good|Requires improvement(?: to be good)?|"
                  r"Inadequate)", re.I)
OLD_OVERALL = re.compile(r"(?:Overall judgement|The overall judgement is that children’s services)[^.]{0,40}?"
                         r"(outstanding|good|require improvement|inadequate)", re.I)
SIF_SUMMARY = re.compile(r"Children’s services in [A-Z][^.]{0,60}? (?:are|is) (outstanding|good|inadequate)")


def _judgement(text: str, pattern: re.Pattern[str]) -> str | None:
    match = pattern.search(text)
    return match.group(1).lower() if match else None


def grades(query: Query, texts: dict[str, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    if query.id in ("l01", "l02", "l03"):
        for stem, text in texts.items():
            if not INSPECTION.match(stem):
                continue
            if query.id == "l03":
                grade = _judgement(text, HELP)
            else:
                grade = _judgement(text, OVERALL) or _judgement(text, OLD_OVERALL) or _judgement(text, SIF_SUMMARY)
            wanted = "outstanding" if query.id == "l02" else "inadequate"
            if grade == wanted:
                out[stem] = 2
    elif query.pattern:
        pattern = re.compile(query.pattern, re.I)
        for stem, text in texts.items():
            if not INSPECTION.match(stem) or stem in query.drop:
                continue
            count = len(pattern.findall(text))
            if query.two is not None and count >= query.two:
                out[stem] = 2
            elif query.one is not None and count >= query.one:
                out[stem] = 1
    for stem, grade in query.listed.items():
        if grade:
            out[stem] = grade
        else:
            out.pop(stem, None)
    for first, second in COPIES.items():
        for a, b in ((first, second), (second, first)):
            if a in out:
                out[b] = max(out[a], out.get(b, 0))
    return out


def main(texts_dir: Path, target: Path) -> None:
    texts = {p.stem: " ".join(p.read_text(encoding="utf-8").split()) for p in texts_dir.glob("*.txt")}
    for query in QUERIES:
        missing = [s for s in query.listed if s not in texts]
        if missing:
            raise SystemExit(f"{query.id}: no text for {missing}")
    (target / "qrels").mkdir(parents=True, exist_ok=True)
    with (target / "queries.jsonl").open("w", encoding="utf-8") as out:
        for query in QUERIES:
            out.write(json.dumps({"_id": query.id, "text": query.text, "kind": query.kind}, ensure_ascii=False) + "\n")
    lines = ["query-id\tcorpus-id\tscore"]
    for query in QUERIES:
        judged = grades(query, texts)
        for stem, grade in sorted(judged.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"{query.id}\t{stem}\t{grade}")
        twos = sum(1 for g in judged.values() if g == 2)
        print(f"{query.id} {query.kind:10} 2s={twos:3d} 1s={len(judged) - twos:3d}  {query.text}")
    (target / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: judging.py TEXTS_DIR COLLECTION_DIR")
    main(Path(sys.argv[1]), Path(sys.argv[2]))
