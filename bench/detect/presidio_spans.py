"""Presidio's pattern recognizers over the detector corpus, for `npm run bench:detect`.

Reads a corpus JSONL (bench/detect/generate-corpus.ts) and writes one JSON object:
{"spans": [[{start, end, category}, ...] per record], "seconds": <analysis time>, "version": ...}
Offsets are converted from Python code points to UTF-16 units, as the corpus uses.

No model is downloaded: the NLP engine gets a blank spaCy pipeline (spacy.blank("en") saved
to disk), so only pattern recognizers produce results. Every Presidio recognizer for one of our
categories is registered for "en" (the country-specific ones default to their own language):
email, phone (regions DE FR ES IT NL GB US), IBAN, credit card, IP, DE tax id, ES NIF/NIE,
IT fiscal code. Presidio has none for FR NIR, NL BSN or secrets.
"""
import json
import os
import sys
import time

import spacy
from importlib.metadata import version
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    DeTaxIdRecognizer,
    EmailRecognizer,
    EsNieRecognizer,
    EsNifRecognizer,
    IbanRecognizer,
    IpRecognizer,
    ItFiscalCodeRecognizer,
    PhoneRecognizer,
)

CATEGORY = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "IBAN_CODE": "iban",
    "CREDIT_CARD": "payment_card",
    "IP_ADDRESS": "ip_address",
    "DE_TAX_ID": "national_id",
    "ES_NIF": "national_id",
    "ES_NIE": "national_id",
    "IT_FISCAL_CODE": "national_id",
}


def blank_model(venv_dir: str) -> str:
    path = os.path.join(venv_dir, "blank-en")
    if not os.path.isdir(path):
        spacy.blank("en").to_disk(path)
    return path


def utf16(text: str, i: int) -> int:
    return len(text[:i].encode("utf-16-le")) // 2


def main() -> None:
    corpus, venv_dir = sys.argv[1], sys.argv[2]
    provider = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": blank_model(venv_dir)}]}
    )
    registry = RecognizerRegistry(supported_languages=["en"])
    for r in (
        EmailRecognizer(),
        PhoneRecognizer(supported_regions=("DE", "FR", "ES", "IT", "NL", "GB", "US")),
        IbanRecognizer(),
        CreditCardRecognizer(),
        IpRecognizer(),
        DeTaxIdRecognizer(supported_language="en"),
        EsNifRecognizer(supported_language="en"),
        EsNieRecognizer(supported_language="en"),
        ItFiscalCodeRecognizer(supported_language="en"),
    ):
        registry.add_recognizer(r)
    engine = AnalyzerEngine(registry=registry, nlp_engine=provider.create_engine(), supported_languages=["en"])
    records = [json.loads(line) for line in open(corpus, encoding="utf-8") if line.strip()]
    engine.analyze(text="warm up 1.2.3.4", language="en")
    out = []
    # CPU time of this process, as for ours (run.ts): wall time on a shared machine holds others' slices.
    start = time.process_time()
    results = [engine.analyze(text=r["text"], language="en", entities=list(CATEGORY)) for r in records]
    seconds = time.process_time() - start
    for r, res in zip(records, results):
        spans = []
        for x in sorted(res, key=lambda x: (x.start, -x.score)):
            cat = CATEGORY.get(x.entity_type)
            if cat:
                spans.append({"start": utf16(r["text"], x.start), "end": utf16(r["text"], x.end), "category": cat})
        out.append(spans)
    json.dump({"spans": out, "seconds": seconds, "version": version("presidio-analyzer")}, sys.stdout)


if __name__ == "__main__":
    main()
