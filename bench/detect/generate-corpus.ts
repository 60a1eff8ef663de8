/**
 * Generates the labelled detector corpus (issue 16, item 4): sentences in six languages with
 * embedded entities labelled by exact UTF-16 span, and hard negatives (checksum-failing numbers,
 * code, UUIDs, hashes, prices, dates, order numbers) that carry no label.
 *
 *   npx tsx bench/detect/generate-corpus.ts <seed> <records> > file.jsonl
 *
 * The committed files were made ONCE, before the detectors were written, and are frozen:
 *   test/fixtures/detect/corpus.jsonl   seed 16,   3000 records (tuning + CI test)
 *   test/fixtures/detect/heldout.jsonl  seed 1601, 1000 records (reported separately)
 * Hard-negative dates come from faker's date.past(), relative to the time of the run: a rerun
 * reproduces the files except for some of those dates (the corpus happened to match byte for
 * byte on 2026-11-30; the held-out set differs in dates only).
 * Person names and postal addresses appear in the text but are not labelled: those categories
 * are not shipped (issue 16 calls them a stretch).
 */
import { type Faker, fakerDE, fakerEN, fakerES, fakerFR, fakerIT, fakerNL } from "@faker-js/faker";
import {
  cardBad,
  connectionString,
  deTaxId,
  deTaxIdBad,
  esDni,
  esNie,
  frNir,
  hardNegative,
  ibanBad,
  itCodiceFiscale,
  nlBsn,
  pick,
  secret,
} from "./entities.js";

type Lang = "de" | "fr" | "es" | "it" | "nl" | "en";
type Category = "email" | "phone" | "iban" | "payment_card" | "national_id" | "ip_address" | "secret";
interface Span {
  start: number;
  end: number;
  category: Category;
}

const FAKERS: Record<Lang, Faker> = {
  de: fakerDE,
  fr: fakerFR,
  es: fakerES,
  it: fakerIT,
  nl: fakerNL,
  en: fakerEN,
};

/** `{}` marks where the value goes. */
const T: Record<Lang, Record<Category | "negative" | "filler", string[]>> = {
  de: {
    email: ["Schreib mir an {}, bitte.", "Kontakt: {}", "Die Adresse {} ist nicht mehr aktiv."],
    phone: ["Ruf mich unter {} an.", "Telefon: {}", "Meine Nummer ist {}, ab 18 Uhr."],
    iban: ["Bitte überweise auf {}.", "IBAN: {}", "Das Konto {} gehört meiner Firma."],
    payment_card: [
      "Meine Kreditkarte ist {}.",
      "Karte {} wurde abgelehnt.",
      "Zahlung mit {} fehlgeschlagen.",
    ],
    national_id: ["Meine Steuer-ID ist {}.", "Steuerliche Identifikationsnummer {}", "IdNr.: {}"],
    ip_address: ["Der Server hat die IP {}.", "Zugriff von {} blockiert.", "Host {} antwortet nicht."],
    secret: ["Hier ist mein Schlüssel: {}", "Token {} bitte nicht teilen.", "export API_KEY={}"],
    negative: [
      "Bestellnummer {} ist unterwegs.",
      "Der Preis beträgt {}.",
      "Siehe {} im Log.",
      "Code: {}",
      "Referenz {}",
    ],
    filler: [
      "{name} wohnt in der {street}.",
      "Kannst du das für {name} zusammenfassen? 😊",
      "Übersetze den Text ins Englische.",
    ],
  },
  fr: {
    email: ["Écris-moi à {} stp.", "Courriel : {}", "L'adresse {} ne répond plus."],
    phone: ["Appelle-moi au {}.", "Tél. : {}", "Mon numéro est le {}."],
    iban: ["Virement sur {} s'il vous plaît.", "IBAN : {}", "Le compte {} est clôturé."],
    payment_card: ["Ma carte bancaire est {}.", "Carte {} refusée.", "Paiement par carte {}"],
    national_id: ["Mon numéro de sécurité sociale est {}.", "NIR : {}", "N° SS {}"],
    ip_address: ["Le serveur a l'adresse {}.", "Connexion depuis {} refusée.", "Ping {} sans réponse."],
    secret: ["Voici ma clé : {}", "Le jeton {} est secret.", "export TOKEN={}"],
    negative: [
      "Commande {} expédiée.",
      "Le prix est de {}.",
      "Voir {} dans le journal.",
      "Référence {}",
      "Code : {}",
    ],
    filler: [
      "{name} habite {street}.",
      "Résume ce texte pour {name} ✨",
      "Traduis ce paragraphe en allemand.",
    ],
  },
  es: {
    email: ["Escríbeme a {} por favor.", "Correo: {}", "La dirección {} ya no existe."],
    phone: ["Llámame al {}.", "Teléfono: {}", "Mi número es {}."],
    iban: ["Transfiere a {} por favor.", "IBAN: {}", "La cuenta {} es de la empresa."],
    payment_card: ["Mi tarjeta es {}.", "Tarjeta {} rechazada.", "Pago con la tarjeta {}"],
    national_id: ["Mi DNI es {}.", "NIE: {}", "Documento de identidad {}"],
    ip_address: ["El servidor tiene la IP {}.", "Acceso desde {} bloqueado.", "El host {} no responde."],
    secret: ["Aquí está mi clave: {}", "El token {} es privado.", "export SECRET={}"],
    negative: [
      "El pedido {} está en camino.",
      "El precio es {}.",
      "Ver {} en el registro.",
      "Referencia {}",
      "Código: {}",
    ],
    filler: ["{name} vive en {street}.", "Resume esto para {name} 🙏", "Traduce el texto al francés."],
  },
  it: {
    email: ["Scrivimi a {} per favore.", "Email: {}", "L'indirizzo {} non è più attivo."],
    phone: ["Chiamami al {}.", "Telefono: {}", "Il mio numero è {}."],
    iban: ["Fai il bonifico su {}.", "IBAN: {}", "Il conto {} è aziendale."],
    payment_card: ["La mia carta è {}.", "Carta {} rifiutata.", "Pagamento con carta {}"],
    national_id: ["Il mio codice fiscale è {}.", "C.F.: {}", "Codice fiscale {}"],
    ip_address: ["Il server ha l'IP {}.", "Accesso da {} bloccato.", "L'host {} non risponde."],
    secret: ["Ecco la mia chiave: {}", "Il token {} è segreto.", "export KEY={}"],
    negative: [
      "L'ordine {} è in consegna.",
      "Il prezzo è {}.",
      "Vedi {} nel log.",
      "Riferimento {}",
      "Codice: {}",
    ],
    filler: ["{name} abita in {street}.", "Riassumi questo per {name} 🚀", "Traduci il testo in spagnolo."],
  },
  nl: {
    email: ["Mail me op {} aub.", "E-mail: {}", "Het adres {} werkt niet meer."],
    phone: ["Bel me op {}.", "Telefoon: {}", "Mijn nummer is {}."],
    iban: ["Maak het over naar {}.", "IBAN: {}", "Rekening {} is van het bedrijf."],
    payment_card: ["Mijn creditcard is {}.", "Kaart {} geweigerd.", "Betaling met kaart {}"],
    national_id: ["Mijn BSN is {}.", "Burgerservicenummer: {}", "BSN {}"],
    ip_address: ["De server heeft IP {}.", "Toegang vanaf {} geblokkeerd.", "Host {} reageert niet."],
    secret: ["Hier is mijn sleutel: {}", "Het token {} is geheim.", "export API_TOKEN={}"],
    negative: [
      "Bestelling {} is onderweg.",
      "De prijs is {}.",
      "Zie {} in het log.",
      "Referentie {}",
      "Code: {}",
    ],
    filler: [
      "{name} woont aan de {street}.",
      "Vat dit samen voor {name} 👍",
      "Vertaal de tekst naar het Duits.",
    ],
  },
  en: {
    email: ["Email me at {} please.", "Contact: {}", "The address {} bounced."],
    phone: ["Call me on {}.", "Phone: {}", "My number is {}."],
    iban: ["Please wire it to {}.", "IBAN: {}", "Account {} belongs to the company."],
    payment_card: ["My card number is {}.", "Card {} was declined.", "Charge {} for the order."],
    national_id: ["Her national ID is {}.", "ID number: {}", "The customer's identifier {} is on file."],
    ip_address: ["The server's IP is {}.", "Blocked requests from {}.", "Host {} is down."],
    secret: ["Here is my key: {}", "Don't share token {}.", "export API_KEY={}"],
    negative: ["Order {} has shipped.", "The price is {}.", "See {} in the log.", "Reference {}", "Code: {}"],
    filler: ["{name} lives at {street}.", "Summarise this for {name} 🎉", "Translate the text into Italian."],
  },
};

function nationalId(f: Faker, lang: Lang): string {
  const l = lang === "en" ? pick(f, ["de", "fr", "es", "it", "nl"] as const) : lang;
  switch (l) {
    case "de":
      return deTaxId(f);
    case "fr":
      return frNir(f, f.datatype.boolean());
    case "es":
      return f.datatype.boolean() ? esDni(f) : esNie(f);
    case "it":
      return itCodiceFiscale(f);
    default:
      return nlBsn(f);
  }
}
function nationalIdBad(f: Faker, lang: Lang): string {
  switch (lang) {
    case "de":
      return deTaxIdBad(f);
    case "fr":
      return frNir(f, f.datatype.boolean(), true);
    case "es":
      return f.datatype.boolean() ? esDni(f, true) : esNie(f, true);
    case "it":
      return itCodiceFiscale(f, true);
    case "nl":
      return nlBsn(f, true);
    default:
      return nationalIdBad(f, pick(f, ["de", "fr", "es", "it", "nl"] as const));
  }
}

function phone(f: Faker): string {
  if (f.datatype.boolean()) return f.phone.number({ style: "national" });
  const p = f.phone.number({ style: "international" });
  // Written the way people write them: compact, or grouped after the country code.
  return f.datatype.boolean() ? p : `${p.slice(0, 3)} ${p.slice(3, 6)} ${p.slice(6)}`;
}

/** One sentence: [before, value, after, category | null]. */
function sentence(f: Faker, lang: Lang): [string, string, string, Category | null] {
  const t = T[lang];
  const fill = (tpl: string, _v: string): [string, string] => {
    const i = tpl.indexOf("{}");
    return [tpl.slice(0, i), tpl.slice(i + 2)].map((s) =>
      s.replace("{name}", f.person.fullName()).replace("{street}", f.location.streetAddress()),
    ) as [string, string];
  };
  const r = f.number.int({ min: 0, max: 99 });
  if (r < 8) {
    const tpl = pick(f, t.filler);
    return [
      tpl.replace("{name}", f.person.fullName()).replace("{street}", f.location.streetAddress()),
      "",
      "",
      null,
    ];
  }
  if (r < 35) {
    // Hard negatives: a checksum-failing look-alike half the time, else an unrelated number/code.
    const kind = f.number.int({ min: 0, max: 5 });
    let v: string;
    if (kind === 0) v = ibanBad(f, f.finance.iban({ formatted: f.datatype.boolean() }));
    else if (kind === 1) v = cardBad(f, f.finance.creditCardNumber());
    else if (kind === 2) v = nationalIdBad(f, lang);
    else v = hardNegative(f);
    const tplKey =
      kind === 0 ? "iban" : kind === 1 ? "payment_card" : kind === 2 ? "national_id" : "negative";
    const [a, b] = fill(pick(f, t[tplKey]), v);
    return [a, v, b, null];
  }
  const cat = pick(f, [
    "email",
    "phone",
    "iban",
    "payment_card",
    "national_id",
    "national_id",
    "ip_address",
    "secret",
  ] as const);
  let v: string;
  switch (cat) {
    case "email":
      v = f.internet.email();
      break;
    case "phone":
      v = phone(f);
      break;
    case "iban":
      v = f.finance.iban({
        formatted: f.datatype.boolean(),
        countryCode: f.datatype.boolean() ? lang.toUpperCase().replace("EN", "GB") : undefined,
      });
      break;
    case "payment_card":
      v = f.finance.creditCardNumber(
        pick(f, ["visa", "mastercard", "amex", "discover", "diners_club", "jcb"]),
      );
      break;
    case "national_id":
      v = nationalId(f, lang);
      break;
    case "ip_address":
      v = f.datatype.boolean()
        ? f.internet.ipv4()
        : f.number.int({ min: 0, max: 3 }) === 0
          ? f.internet.ipv6()
          : f.internet.ipv4();
      break;
    default:
      if (f.number.int({ min: 0, max: 5 }) === 0) {
        const [pre, pw, post] = connectionString(f);
        const [a, b] = fill(pick(f, ["DATABASE_URL={}", "Connect with {}", "dsn: {}"]), "");
        return [a + pre, pw, post + b, "secret"];
      }
      v = secret(f);
  }
  const [a, b] = fill(pick(f, t[cat]), v);
  return [a, v, b, cat];
}

function record(id: number, f: Faker, lang: Lang): { id: number; lang: Lang; text: string; spans: Span[] } {
  let text = "";
  const spans: Span[] = [];
  const n = f.number.int({ min: 1, max: 3 });
  for (let i = 0; i < n; i++) {
    if (text) text += " ";
    const [a, v, b, cat] = sentence(f, lang);
    text += a;
    if (cat && v) spans.push({ start: text.length, end: text.length + v.length, category: cat });
    text += v + b;
  }
  return { id, lang, text, spans };
}

function main(): void {
  const seed = Number(process.argv[2] ?? 16);
  const count = Number(process.argv[3] ?? 3000);
  const langs = Object.keys(FAKERS) as Lang[];
  langs.forEach((l, i) => FAKERS[l].seed(seed * 10 + i));
  const out: string[] = [];
  for (let id = 0; id < count; id++) {
    const lang = langs[id % langs.length] as Lang;
    out.push(JSON.stringify(record(id, FAKERS[lang], lang)));
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

main();
