"""Core: the registry of every problem code, with its default severity and French title.

frictionless's codes are reused verbatim for what frictionless checks (a type, a
constraint, a key, a header, an encoding); the project's own codes are only for what
frictionless has no code for (a spreadsheet's habits, attribution, business rules). A test
holds the registry to the code both ways: every code the code writes is here, and every
code here is written by the code or is one of frictionless's.

People read the French title; the code stays in JSON reports and in tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.core.problems import Severity

E, W, C = Severity.ERROR, Severity.WARNING, Severity.CORRECTION


@dataclass(frozen=True)
class CodeInfo:
    severity: Severity
    title: str
    frictionless: bool = False


def _f(title: str) -> CodeInfo:
    return CodeInfo(E, title, frictionless=True)


FRICTIONLESS: dict[str, CodeInfo] = {
    "blank-label": _f("colonne sans nom"),
    "blank-row": _f("ligne vide"),
    "byte-count": _f("taille du fichier différente"),
    "constraint-error": _f("valeur hors des règles du champ"),
    "duplicate-label": _f("colonne en double"),
    "encoding-error": _f("encodage illisible"),
    "extra-cell": _f("cellule en trop"),
    "extra-label": _f("colonne inconnue"),
    "foreign-key": _f("référence inconnue"),
    "format-error": _f("fichier mal formé"),
    "hash-count": _f("empreinte du fichier différente"),
    "incorrect-label": _f("nom de colonne inattendu"),
    "missing-cell": _f("cellule manquante"),
    "missing-label": _f("colonne manquante"),
    "primary-key": _f("ligne en double (clé primaire)"),
    "scheme-error": _f("source illisible"),
    "source-error": _f("source illisible"),
    "type-error": _f("valeur d'un autre type"),
    "unique-error": _f("valeur en double"),
}

OURS: dict[str, CodeInfo] = {
    # Reading a file (gather.submissions.read)
    "fichier-vide": CodeInfo(E, "fichier vide"),
    "fichier-trop-volumineux": CodeInfo(E, "fichier trop volumineux"),
    "fichier-binaire": CodeInfo(E, "fichier qui n'est pas du texte"),
    "format-xls": CodeInfo(E, "classeur Excel 97-2003 (.xls)"),
    "format-ods": CodeInfo(E, "classeur OpenDocument (.ods)"),
    "xlsx-invalide": CodeInfo(E, "classeur .xlsx invalide"),
    "xlsx-trop-volumineux": CodeInfo(E, "classeur trop volumineux une fois décompressé"),
    "xlsx-sans-feuille": CodeInfo(E, "classeur sans feuille visible"),
    "xlsx-illisible": CodeInfo(E, "classeur illisible"),
    "trop-de-lignes": CodeInfo(E, "trop de lignes"),
    "trop-de-colonnes": CodeInfo(E, "trop de colonnes"),
    "ligne-masquee": CodeInfo(E, "ligne masquée qui contient des données"),
    "colonne-masquee": CodeInfo(E, "colonne masquée qui contient des données"),
    "plusieurs-feuilles": CodeInfo(W, "plusieurs feuilles"),
    "encodage-windows-1252": CodeInfo(W, "fichier en Windows-1252"),
    "encodage-utf16": CodeInfo(C, "fichier en UTF-16 converti"),
    "extension-xlsx": CodeInfo(C, "classeur à l'extension inattendue"),
    "pourcentage-tableur": CodeInfo(C, "cellule au format pourcentage"),
    "lignes-avant-entete": CodeInfo(C, "lignes au-dessus de l'en-tête"),
    "separateur": CodeInfo(C, "séparateur de colonnes"),
    "extension-csv": CodeInfo(C, "fichier CSV nommé .xlsx"),
    "cellules-fusionnees": CodeInfo(E, "cellules fusionnées"),
    # Normalising (validate.normalise)
    "colonne-absente": CodeInfo(W, "colonne facultative absente"),
    "entete-renomme": CodeInfo(C, "colonne renommée"),
    "formule": CodeInfo(E, "formule dans une cellule"),
    "nombre-non-entier": CodeInfo(E, "nombre à décimales"),
    "date-francaise": CodeInfo(C, "date JJ/MM/AAAA convertie"),
    "date-avec-heure": CodeInfo(C, "heure retirée d'une date"),
    "signe-pourcentage": CodeInfo(C, "signe % retiré"),
    "virgule-decimale": CodeInfo(C, "décimale nulle retirée"),
    "virgule-decimale-nombre": CodeInfo(C, "virgule décimale convertie en point"),
    "separateur-milliers": CodeInfo(C, "espaces entre les milliers retirées"),
    "statut-libelle": CodeInfo(C, "libellé du statut converti"),
    "ligne-non-remplie": CodeInfo(C, "lignes du modèle laissées vides"),
    "apostrophe-initiale": CodeInfo(C, "apostrophe initiale retirée"),
    "date-numero-serie": CodeInfo(C, "date en numéro de jour convertie"),
    "cellules-decalees": CodeInfo(E, "cellules décalées d'une colonne"),
    # Attribution and the submission as a whole (validate.submission)
    "organisme-different": CodeInfo(W, "modèle d'un autre organisme"),
    "organisme-inconnu": CodeInfo(E, "organisme inconnu du plan"),
    "organisme-non-identifie": CodeInfo(E, "organisme non identifié"),
    "aucune-ligne": CodeInfo(E, "aucune ligne remplie"),
    # Business rules (validate.rules, great-expectations)
    "complet-sans-100": CodeInfo(E, "action complète sans 100 %"),
    "statut-sans-preuve": CodeInfo(E, "action complète sans preuve"),
    "non-commence-avec-avancement": CodeInfo(E, "action non commencée avec un avancement"),
    "date-avant-plan": CodeInfo(E, "date avant le début du plan"),
    "date-future": CodeInfo(E, "date dans le futur"),
    "action-hors-responsabilite": CodeInfo(E, "action d'un autre organisme"),
    "recul-sans-commentaire": CodeInfo(W, "avancement en recul sans commentaire"),
    "baisse-sans-commentaire": CodeInfo(W, "valeur atteinte en baisse sans commentaire"),
    "cible-hors-responsabilite": CodeInfo(E, "cible d'une action d'un autre organisme"),
    "jalon-ni-0-ni-1": CodeInfo(E, "jalon ni franchi (1) ni à venir (0)"),
}

CODES: dict[str, CodeInfo] = {**FRICTIONLESS, **OURS}


def code_info(code: str) -> CodeInfo:
    """The registry's entry; a frictionless code not listed (frictionless may add some)
    gets a generic entry rather than failing a report."""
    return CODES.get(code) or CodeInfo(E, code, frictionless=True)
