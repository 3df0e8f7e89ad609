"""Core: the registry of every problem code, the one home of what a finding says.

Each code is one entry: its severity (an error rejects a file, a warning is worth a look, a
correction is an unambiguous change the pipeline made), its French title, the sentence
that states the problem and the sentence that says how to fix it, as templates with named
fields, and, for a business rule, the sentence the template's Instructions sheet shows
and the submission formats whose rules check it. ``problems.problem(code, **fields)``
renders an entry into a finding; nothing else writes a message or states a severity.

frictionless's codes are reused verbatim for what frictionless checks (a type, a
constraint, a key, a header, an encoding), with frictionless's meaning; their French
wording is ours. A frictionless code may carry *variants*: the same code worded for one
case (a date, an integer, an identifier), chosen by the caller from the schema. The
project's own codes are only for what frictionless has no code for (a spreadsheet's
habits, attribution, business rules). Tests hold the registry to the code both ways and
render every template with its declared fields.

Templates are Jinja2 (plain text, no escaping: reports escape when they render): a field
is ``{{ name }}``, an optional sentence is ``{% if name %}…{% endif %}``. A field named
``value`` or ``row`` is filled from the finding's position when the caller does not give it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

# The submission formats (Table Schema names) whose business rules check a code.
PROGRESS = "soumission"
TARGETS = "soumission-cibles"


class Severity(StrEnum):
    """``erreur`` rejects the file; ``avertissement`` is published but worth a look;
    ``correction`` is an unambiguous change the pipeline made (a French date, a label)."""

    ERROR = "erreur"
    WARNING = "avertissement"
    CORRECTION = "correction"


E, W, C = Severity.ERROR, Severity.WARNING, Severity.CORRECTION


@dataclass(frozen=True)
class Wording:
    """What a finding says (``message``) and what to do about it (``fix``), as templates."""

    message: str
    fix: str = ""


@dataclass(frozen=True)
class CodeInfo:
    """One code. ``fields`` declares the template fields with an example value each (the
    test renders every wording with them); ``variants`` words the code for one case.

    ``instruction`` is the sentence the template's Instructions sheet shows for a business
    rule, rendered with :data:`INSTRUCTION_FIELDS`; ``rule_of`` the submission formats
    (Table Schema names) whose business rules check it."""

    severity: Severity
    title: str
    wording: Wording
    fields: Mapping[str, Any] = field(default_factory=dict)
    variants: Mapping[str, Wording] = field(default_factory=dict)
    frictionless: bool = False
    instruction: str = ""
    rule_of: tuple[str, ...] = ()

    def wordings(self) -> dict[str | None, Wording]:
        """Every wording of the code: the default one (``None``), then each variant."""
        found: dict[str | None, Wording] = {None: self.wording}
        found.update(self.variants)
        return found


# What an instruction template may use: the French labels of the values of every field
# with a closed list of values (``labels.statut.complet``), and the plan's start date. The
# template sheet fills it from the schemas; these examples are the test's.
INSTRUCTION_FIELDS: dict[str, Any] = {
    "labels": {"statut": {"complet": "Achevée", "non_commence": "Non commencée"}},
    "plan_start": "01/01/2021",
}

# The position fields a frictionless code's generic words may use (``problem_of`` fills them
# from a frictionless error, or the columnar check's record of one); where it is, a report
# says beside them.
_FRICTIONLESS_FIELDS: dict[str, Any] = {"value": "deux", "constraint": "maximum"}
_COPY_TEMPLATE = "Repartez du modèle envoyé par l'équipe du plan, sans en modifier l'en-tête."


def _f(title: str, message: str, fix: str = "", **more: Any) -> CodeInfo:
    return CodeInfo(E, title, Wording(message, fix), frictionless=True, **more)


FRICTIONLESS: dict[str, CodeInfo] = {
    "blank-label": _f(
        "colonne sans nom",
        "Une colonne n'a pas de nom dans l'en-tête.",
        "Nommez-la ou supprimez-la.",
        fields={"position": 3, "expected": "id_action, date_rapport"},
        variants={
            "soumission": Wording(
                "La colonne n° {{ position }} n'a pas de nom dans l'en-tête.",
                "Nommez-la (colonnes attendues : {{ expected }}) ou supprimez-la.",
            )
        },
    ),
    "blank-row": _f("ligne vide", "La ligne est vide.", "Supprimez la ligne ou remplissez-la."),
    "byte-count": _f(
        "taille du fichier différente",
        "La taille du fichier n'est pas celle que le descripteur annonce (bytes).",
        "Le fichier a changé après l'écriture du descripteur : reconstruisez la version.",
    ),
    "constraint-error": _f(
        "valeur hors des règles du champ",
        "La valeur ne respecte pas la contrainte « {{ constraint }} » de la colonne.",
        "Corrigez la valeur d'après la description de la colonne.",
        fields={
            **_FRICTIONLESS_FIELDS,
            "column": "Avancement (%) [avancement_pct]",
            "to_do": "Choisissez un statut dans la liste.",
            "values": "non_commence (non commencée), complet (achevée)",
            "minimum": 0,
            "maximum": 100,
            "thing": "d'action",
            "example": "E1-A1-01",
            "form": "E, le numéro d'engagement, -A, le numéro d'ambition, puis le rang sur deux chiffres",
            "length": 5012,
            "limit": 5000,
        },
        variants={
            "required": Wording(
                "La colonne {{ column }} est obligatoire et la cellule est vide.",
                "{% if to_do %}{{ to_do }}{% else %}Remplissez la cellule.{% endif %}"
                "{% if values %} Valeurs possibles : {{ values }}.{% endif %}",
            ),
            "enum": Wording(
                "« {{ value }} » n'est pas l'une des valeurs de la colonne {{ column }}.",
                "Choisissez l'une des valeurs : {{ values }}.",
            ),
            "minimum": Wording(
                "{{ value }} est inférieur au minimum autorisé ({{ minimum }}).",
                "Indiquez la valeur constatée, d'au moins {{ minimum }}.",
            ),
            "interval": Wording(
                "{{ value }} est hors de l'intervalle autorisé ({{ minimum }} à {{ maximum }}).",
                "Indiquez un nombre entier de {{ minimum }} à {{ maximum }}.",
            ),
            "identifier": Wording(
                "« {{ value }} » n'a pas la forme d'un identifiant {{ thing }} ({{ example }}).",
                "Recopiez l'identifiant depuis le modèle : {{ form }}.",
            ),
            "uri": Wording(
                "« {{ value }} » n'est pas une adresse web commençant par http:// ou https:// (sans espace).",
                "Copiez l'adresse complète depuis la barre d'adresse du navigateur.",
            ),
            "maxLength": Wording(
                "Le texte compte {{ length }} caractères ; la limite est de {{ limit }}.",
                "Raccourcissez le texte et placez le détail dans le document de preuve.",
            ),
            "other": Wording(
                "La valeur ne respecte pas la contrainte « {{ constraint }} » de la colonne {{ column }}.",
                "Corrigez la valeur d'après la description de la colonne dans l'onglet Instructions.",
            ),
        },
    ),
    "duplicate-label": _f(
        "colonne en double",
        "Une colonne apparaît deux fois dans l'en-tête.",
        "Gardez une seule colonne de ce nom.",
        fields={"heading": "Statut"},
        variants={
            "soumission": Wording(
                "La colonne « {{ heading }} » apparaît deux fois dans l'en-tête.",
                "Gardez une seule colonne de ce nom.",
            )
        },
    ),
    "encoding-error": _f(
        "encodage illisible",
        "Le texte du fichier ne se lit pas dans son encodage.",
        "Enregistrez le fichier en UTF-8.",
        fields={"byte": "0x81", "position": 42},
        variants={
            "soumission": Wording(
                "Le fichier n'est ni en UTF-8 ni en Windows-1252 (octet {{ byte }} à la position "
                "{{ position }}).",
                "Enregistrez le fichier au format « CSV UTF-8 » depuis votre tableur.",
            )
        },
    ),
    "extra-cell": _f(
        "cellule en trop",
        "La ligne a plus de cellules que l'en-tête n'a de colonnes.",
        "Supprimez les cellules à droite de la dernière colonne.",
        fields={"cells": 7, "columns": 6},
        variants={
            "soumission": Wording(
                "La ligne a {{ cells }} cellules alors que l'en-tête a {{ columns }} colonnes.",
                "Supprimez les cellules à droite de la dernière colonne, ou vérifiez le séparateur des "
                "colonnes.",
            )
        },
    ),
    "extra-label": _f(
        "colonne inconnue",
        "L'en-tête a une colonne que le schéma ne connaît pas.",
        "Supprimez la colonne ou ajoutez-la au schéma.",
        fields={"heading": "Notes", "expected": "id_action, date_rapport"},
        variants={
            "soumission": Wording(
                "La colonne « {{ heading }} » ne fait pas partie du format de suivi.",
                "Renommez-la avec l'un des noms attendus ({{ expected }}) ou supprimez-la.",
            )
        },
    ),
    "foreign-key": _f(
        "référence inconnue",
        "La valeur de cette ligne ne renvoie à aucune ligne de la table liée.",
        "Corrigez la référence d'après la table liée.",
        fields={"value": "E9-A9-99", "thing": "l'action", "plan_table": "actions", "example": "E1-A1-01"},
        variants={
            "soumission": Wording(
                "{{ thing | capitalize }} « {{ value }} » n'existe pas dans le plan d'action 2021-2023 "
                "(table {{ plan_table }}).",
                "Recopiez l'identifiant depuis le modèle envoyé par l'équipe du plan ou depuis la table "
                "{{ plan_table }} du plan (par exemple {{ example }}).",
            )
        },
    ),
    "format-error": _f(
        "fichier mal formé",
        "Le fichier est mal formé.",
        "Enregistrez à nouveau le fichier depuis votre tableur.",
        fields={"line": 12, "detail": "unexpected end of data"},
        variants={
            "soumission": Wording(
                "Le fichier CSV est mal formé près de la ligne {{ line }} ({{ detail }}).",
                "Vérifiez les guillemets de cette ligne, ou enregistrez à nouveau le fichier depuis "
                "votre tableur.",
            )
        },
    ),
    "hash-count": _f(
        "empreinte du fichier différente",
        "L'empreinte du fichier n'est pas celle que le descripteur annonce (hash).",
        "Le fichier a changé après l'écriture du descripteur : reconstruisez la version.",
    ),
    "incorrect-label": _f(
        "nom de colonne inattendu",
        "Une colonne de l'en-tête ne porte pas le nom que le schéma attend à cette place.",
        _COPY_TEMPLATE,
    ),
    "missing-cell": _f(
        "cellule manquante",
        "La ligne a moins de cellules que l'en-tête n'a de colonnes.",
        "Vérifiez le séparateur des colonnes de cette ligne et ses guillemets.",
        fields={"cells": 4, "columns": 6},
        variants={
            "soumission": Wording(
                "La ligne a {{ cells }} cellule(s) alors que l'en-tête a {{ columns }} colonnes.",
                "Vérifiez le séparateur des colonnes de cette ligne et ses guillemets.",
            )
        },
    ),
    "missing-label": _f(
        "colonne manquante",
        "Une colonne du schéma manque à l'en-tête.",
        _COPY_TEMPLATE,
        fields={"column": "Statut [statut]"},
        variants={
            "template": Wording(
                "La colonne {{ column }} du modèle a été supprimée : les valeurs qu'elle contenait ne "
                "sont pas dans le fichier.",
                "Rétablissez la colonne {{ column }} (annulez la suppression, ou repartez du modèle "
                "envoyé par l'équipe) et renvoyez le fichier.",
            ),
            "required": Wording(
                "La colonne obligatoire {{ column }} est absente.",
                "Ajoutez-la à l'en-tête, ou repartez du modèle envoyé par l'équipe du plan.",
            ),
        },
    ),
    "primary-key": _f(
        "ligne en double (clé primaire)",
        "La clé primaire de cette ligne est déjà celle d'une autre ligne.",
        "Gardez une seule ligne par valeur de la clé.",
        fields={"thing": "l'action", "noun": "action", "key": "E1-A1-01", "date": "2022-12-31", "first": 3},
        variants={
            "soumission": Wording(
                "{{ thing | capitalize }} {{ key }} a déjà un rapport daté du {{ date }} dans ce fichier"
                "{% if first %} (ligne {{ first }}){% endif %}.",
                "Gardez une seule ligne par {{ noun }} et par date : supprimez le doublon ou corrigez la date.",
            )
        },
    ),
    "scheme-error": _f("source illisible", "La source ne peut pas être lue.", "Vérifiez son adresse."),
    "source-error": _f("source illisible", "La source ne peut pas être lue.", "Vérifiez le fichier."),
    "type-error": _f(
        "valeur d'un autre type",
        "« {{ value }} » n'a pas le type de la colonne.",
        "Corrigez la valeur d'après la description de la colonne.",
        fields={"value": "deux", "date": "2023-06-30", "time": "14:35", "example": "60", "kind": "year"},
        variants={
            "datetime": Wording(
                "La date contient une heure ({{ time }}) : la colonne attend une date seule.",
                "Gardez seulement la date ({{ date }}) : dans le tableur, choisissez le format de cellule "
                "Date courte, ou effacez l'heure.",
            ),
            "date": Wording(
                "« {{ value }} » n'est pas une date valide.",
                "Écrivez la date au format AAAA-MM-JJ ou JJ/MM/AAAA, par exemple 31/12/2022.",
            ),
            "integer": Wording(
                "« {{ value }} » n'est pas un nombre entier.",
                "Écrivez un nombre entier, sans décimale ni texte (par exemple {{ example }}).",
            ),
            "number": Wording(
                "« {{ value }} » n'est pas un nombre.",
                "Écrivez un nombre seul, sans unité ni texte, avec une virgule pour les décimales "
                "(par exemple {{ example }} ou 12,5).",
            ),
            "infinite": Wording(
                "« {{ value }} » n'est pas un nombre fini.",
                "Écrivez la valeur constatée, un nombre seul (par exemple {{ example }} ou 12,5).",
            ),
            "uri": Wording(
                "« {{ value }} » n'est pas une adresse web valide.",
                "Copiez l'adresse complète depuis la barre d'adresse du navigateur, en commençant par "
                "https://.",
            ),
            "other": Wording(
                "« {{ value }} » n'a pas le type attendu ({{ kind }}).",
                "Corrigez la valeur d'après la description de la colonne dans l'onglet Instructions.",
            ),
        },
    ),
    "unique-error": _f(
        "valeur en double",
        "La valeur est déjà celle d'une autre ligne, dans une colonne qui n'admet pas de doublon.",
        "Gardez une seule ligne de cette valeur.",
    ),
}

_RESEND = "Renvoyez le fichier une fois corrigé."
_ABSENT_MESSAGE = "{% if missing %} La colonne {{ column }} manque au fichier.{% endif %}"
_ABSENT_FIX = "{% if missing %}Ajoutez la colonne {{ column }} à l'en-tête, puis i{% else %}I{% endif %}"
_ATTRIBUTION_FIX = (
    "{% if source == 'inbox' %}Déplacez le fichier dans le dossier de l'organisme qui l'a envoyé, nommé "
    "par son identifiant dans la table organisations du plan (par exemple ditp/), puis relancez la "
    "collecte ; ou demandez-lui de remplir son modèle."
    "{% elif source == 'file' %}Indiquez l'organisme qui rend compte (--org, par exemple --org ditp)."
    "{% else %}Indiquez l'organisme de cette adresse (urls[].organisation dans dataset.yaml).{% endif %}"
)
_COLUMN = {"column": "Avancement (%) [avancement_pct]"}
_ABSENT = {"column": "Lien vers une preuve [preuve_url]", "missing": True}

OURS: dict[str, CodeInfo] = {
    # Reading a file (gather.submissions.read)
    "fichier-vide": CodeInfo(
        E,
        "fichier vide",
        Wording(
            "Le fichier ne contient aucune cellule remplie.",
            "Remplissez le modèle envoyé par l'équipe du plan, puis renvoyez-le.",
        ),
    ),
    "fichier-trop-volumineux": CodeInfo(
        E,
        "fichier trop volumineux",
        Wording(
            "Le fichier pèse {{ size }} ; la limite est de {{ limit }}.",
            "Un rapport d'avancement tient en quelques centaines de lignes : retirez les feuilles, images "
            "ou lignes superflues, ou scindez le fichier.",
        ),
        fields={"size": "12,3 Mo", "limit": "10,0 Mo"},
    ),
    "fichier-binaire": CodeInfo(
        E,
        "fichier qui n'est pas du texte",
        Wording(
            "Le fichier n'est pas un fichier texte CSV (contenu binaire).",
            "Envoyez le rapport au format .xlsx ou CSV, pas un PDF, une image ou une archive.",
        ),
    ),
    "format-xls": CodeInfo(
        E,
        "classeur Excel 97-2003 (.xls)",
        Wording(
            "Le fichier est au format Excel 97-2003 (.xls), qui n'est pas accepté.",
            "Enregistrez-le au format .xlsx (Fichier > Enregistrer sous > Classeur Excel) ou au format CSV.",
        ),
    ),
    "format-ods": CodeInfo(
        E,
        "classeur OpenDocument (.ods)",
        Wording(
            "Les classeurs OpenDocument (.ods) ne sont pas acceptés.",
            "Enregistrez le fichier au format .xlsx ou CSV.",
        ),
    ),
    "xlsx-invalide": CodeInfo(
        E,
        "classeur .xlsx invalide",
        Wording(
            "Le fichier n'est pas un classeur .xlsx lisible (archive invalide).",
            "Ouvrez-le dans votre tableur et enregistrez-le à nouveau au format .xlsx, ou exportez-le en CSV.",
        ),
    ),
    "xlsx-trop-volumineux": CodeInfo(
        E,
        "classeur trop volumineux une fois décompressé",
        Wording(
            "Décompressé, le classeur ferait {{ size }} ({{ ratio }} fois sa taille) : il est refusé par "
            "précaution.",
            "Renvoyez un classeur qui ne contient que la feuille du modèle remplie, ou un fichier CSV.",
        ),
        fields={"size": "80,0 Mo", "ratio": 400},
    ),
    "xlsx-sans-feuille": CodeInfo(
        E,
        "classeur sans feuille visible",
        Wording("Le classeur ne contient aucune feuille visible.", "Renvoyez le modèle rempli."),
    ),
    "xlsx-illisible": CodeInfo(
        E,
        "classeur illisible",
        Wording(
            "Le classeur n'a pas pu être lu ({{ reason }}).",
            "Ouvrez-le dans votre tableur, enregistrez-le à nouveau au format .xlsx et renvoyez-le.",
        ),
        fields={"reason": "KeyError"},
    ),
    "trop-de-lignes": CodeInfo(
        E,
        "trop de lignes",
        Wording(
            "Le fichier dépasse {{ limit }} lignes.",
            "Un rapport compte une ligne par action et par date : vérifiez que le fichier est bien un "
            "rapport d'avancement, ou scindez-le.",
        ),
        fields={"limit": 10000},
    ),
    "trop-de-colonnes": CodeInfo(
        E,
        "trop de colonnes",
        Wording(
            "L'en-tête compte {{ count }} colonnes ; la limite est de {{ limit }}.",
            "Gardez seulement les colonnes du modèle.",
        ),
        fields={"count": 60, "limit": 50},
    ),
    "ligne-masquee": CodeInfo(
        E,
        "ligne masquée qui contient des données",
        Wording(
            "La ligne {{ row }} est masquée dans le tableur mais contient des données : elle serait publiée "
            "sans que personne l'ait relue à l'écran.",
            "Affichez les lignes masquées (sélectionnez les lignes autour, clic droit > Afficher), puis "
            "gardez cette ligne si elle fait partie du rapport ou supprimez-la, et renvoyez le fichier.",
        ),
        fields={"row": 4},
    ),
    "colonne-masquee": CodeInfo(
        E,
        "colonne masquée qui contient des données",
        Wording(
            "La colonne {{ letter }} est masquée dans le tableur mais contient des données ({{ count }} "
            "cellule(s) remplie(s)).",
            "Affichez la colonne {{ letter }} (sélectionnez les colonnes autour, clic droit > Afficher), "
            "puis gardez-la si elle fait partie du rapport ou supprimez-la, et renvoyez le fichier.",
        ),
        fields={"letter": "G", "count": 2},
    ),
    "plusieurs-feuilles": CodeInfo(
        W,
        "plusieurs feuilles",
        Wording(
            "Le classeur a {{ count }} feuilles ; le rapport est lu dans la feuille « {{ sheet }} », les "
            "autres sont ignorées.",
            "Vérifiez qu'aucune autre feuille ne contient de rapport ; le plus sûr est d'utiliser le modèle.",
        ),
        fields={"count": 2, "sheet": "Données"},
    ),
    "encodage-windows-1252": CodeInfo(
        W,
        "fichier en Windows-1252",
        Wording(
            "Le fichier n'est pas en UTF-8 : il a été lu comme du Windows-1252 (l'encodage par défaut "
            "d'Excel en français) et converti en UTF-8.",
            "Vérifiez les accents dans le rapport publié ; pour éviter cette conversion, enregistrez au "
            "format « CSV UTF-8 ».",
        ),
    ),
    "encodage-utf16": CodeInfo(
        C,
        "fichier en UTF-16 converti",
        Wording("Le fichier est en UTF-16 (texte Unicode de Excel) : converti en UTF-8."),
    ),
    "extension-xlsx": CodeInfo(
        C,
        "classeur à l'extension inattendue",
        Wording(
            "Le fichier porte l'extension « {{ suffix or '(aucune)' }} » mais c'est un classeur .xlsx : il "
            "est lu comme tel."
        ),
        fields={"suffix": ".xls"},
    ),
    "pourcentage-tableur": CodeInfo(
        C,
        "cellule au format pourcentage",
        Wording("La cellule est au format pourcentage ({{ stored }}) : elle est lue comme {{ value }}."),
        fields={"stored": "0.6", "value": "60"},
    ),
    "lignes-avant-entete": CodeInfo(
        C,
        "lignes au-dessus de l'en-tête",
        Wording("L'en-tête est en ligne {{ header_row }} : les lignes au-dessus sont ignorées."),
        fields={"header_row": 3},
    ),
    "separateur": CodeInfo(
        C,
        "séparateur de colonnes",
        Wording(
            "Les colonnes sont séparées par des "
            "{% if delimiter == ';' %}points-virgules{% else %}tabulations{% endif %} : lu comme tel."
        ),
        fields={"delimiter": ";"},
    ),
    "extension-csv": CodeInfo(
        C,
        "fichier CSV nommé .xlsx",
        Wording(
            "Le fichier porte l'extension .xlsx mais c'est un fichier CSV (du texte, colonnes séparées) : il "
            "est lu comme un CSV."
        ),
    ),
    "cellules-fusionnees": CodeInfo(
        E,
        "cellules fusionnées",
        Wording(
            "Les cellules {{ cells }} sont fusionnées : seule la première garde sa valeur, les autres sont "
            "lues comme vides.",
            "Annulez la fusion (Accueil > Fusionner et centrer > Annuler la fusion des cellules), recopiez la "
            "valeur dans chaque ligne, puis renvoyez le fichier.",
        ),
        fields={"cells": "B2:B4"},
    ),
    # Normalising (validate.normalise)
    "colonne-absente": CodeInfo(
        W,
        "colonne facultative absente",
        Wording(
            "La colonne facultative {{ column }} est absente : rien de cette colonne ne sera publié pour les "
            "lignes de ce fichier.",
            "Si vous avez des valeurs de cette colonne à transmettre, ajoutez la colonne {{ column }} et "
            "renvoyez le fichier.",
        ),
        fields={"column": "Commentaire [commentaire]"},
    ),
    "entete-renomme": CodeInfo(
        C,
        "colonne renommée",
        Wording("La colonne « {{ heading }} » est lue comme {{ column }}."),
        fields={"heading": "DATE DU RAPPORT", "column": "Date du rapport [date_rapport]"},
    ),
    "entete-repete": CodeInfo(
        E,
        "en-tête répété dans les données",
        Wording(
            "La ligne {{ row }} répète l'en-tête du tableau (collé une seconde fois ?) : ce n'est pas un "
            "rapport.",
            "Supprimez la ligne {{ row }}, puis renvoyez le fichier.",
        ),
        fields={"row": 2},
    ),
    "formule": CodeInfo(
        E,
        "formule dans une cellule",
        Wording(
            "La cellule contient une formule ; seules des valeurs sont acceptées.",
            "Remplacez la formule par sa valeur (copier, puis collage spécial > valeurs).",
        ),
    ),
    "nombre-non-entier": CodeInfo(
        E,
        "nombre à décimales",
        Wording(
            "La colonne {{ column }} attend un nombre entier ; la valeur a une partie décimale.",
            "Arrondissez à l'entier de votre choix (par exemple 50 pour 50,4).",
        ),
        fields={"column": "Avancement (%) [avancement_pct]"},
    ),
    "date-francaise": CodeInfo(
        C,
        "date JJ/MM/AAAA convertie",
        Wording("Date au format JJ/MM/AAAA convertie au format AAAA-MM-JJ."),
    ),
    "date-avec-heure": CodeInfo(C, "heure retirée d'une date", Wording("Heure 00:00 retirée de la date.")),
    "signe-pourcentage": CodeInfo(
        C,
        "signe % retiré",
        Wording("Signe % retiré : la colonne attend un nombre, sans unité."),
    ),
    "virgule-decimale": CodeInfo(
        C,
        "décimale nulle retirée",
        Wording("Nombre à décimale nulle converti en entier."),
    ),
    "virgule-decimale-nombre": CodeInfo(
        C,
        "virgule décimale convertie en point",
        Wording("Virgule décimale convertie en point (12,5 devient 12.5)."),
    ),
    "separateur-milliers": CodeInfo(
        C,
        "espaces entre les milliers retirées",
        Wording("Espaces entre les milliers retirées (4 000 devient 4000)."),
    ),
    "statut-libelle": CodeInfo(
        C,
        "libellé converti en code",
        Wording("« {{ value }} » est lu comme la valeur « {{ canonical }} » de la colonne {{ column }}."),
        fields={"value": "terminée", "canonical": "complet", "column": "Statut [statut]"},
    ),
    "ligne-non-remplie": CodeInfo(
        C,
        "lignes du modèle laissées vides",
        Wording(
            "{{ count }} ligne(s) du modèle sans rapport (seul l'identifiant est rempli) ignorée(s) : "
            "lignes {{ rows | join(', ') }}{% if more %}…{% endif %}."
        ),
        fields={"count": 2, "rows": [3, 5], "more": False},
    ),
    "apostrophe-initiale": CodeInfo(
        C,
        "apostrophe initiale retirée",
        Wording("Apostrophe initiale retirée (un tableur l'ajoute pour garder une valeur en texte)."),
    ),
    "date-numero-serie": CodeInfo(
        C,
        "date en numéro de jour convertie",
        Wording("Date écrite comme un numéro de jour du tableur, convertie en date."),
    ),
    "cellules-decalees": CodeInfo(
        E,
        "cellules décalées d'une colonne",
        Wording(
            "Les valeurs de la ligne sont décalées d'une colonne vers la gauche à partir de {{ column }} : "
            "« {{ value }} » est sous {{ column }}"
            "{% if next_value %}, « {{ next_value }} » sous {{ next_column }}{% endif %}.",
            "Une cellule a sans doute été supprimée en décalant les autres vers la gauche : rétablissez la "
            "cellule de la colonne {{ column }} pour que chaque valeur revienne sous sa colonne, puis "
            "renvoyez le fichier.",
        ),
        fields={
            "column": "Date du rapport [date_rapport]",
            "value": "Achevée",
            "next_column": "Statut [statut]",
            "next_value": "100",
        },
    ),
    # Attribution and the submission as a whole (validate.submission)
    "organisme-different": CodeInfo(
        W,
        "modèle d'un autre organisme",
        Wording(
            "Le modèle a été préparé pour {{ template_org }} mais le fichier vient de la source de "
            "{{ source_org }} ; c'est le modèle qui fait foi.",
            "Vérifiez que le bon organisme a rempli ce modèle.",
        ),
        fields={"template_org": "ditp", "source_org": "dinum"},
    ),
    "modele-autre-acces": CodeInfo(
        E,
        "modèle d'un autre organisme déposé par un accès",
        Wording(
            "Ce fichier est le modèle préparé pour {{ template_org }}, mais il a été déposé par le lien "
            "personnel de {{ access_org }} : un accès ne rend compte que pour son organisme. Rien n'en est "
            "publié.",
            "Déposez votre propre modèle (le lien « Télécharger mon modèle » de votre page), ou demandez à "
            "{{ template_org }} de déposer son fichier avec son propre lien.",
        ),
        fields={"template_org": "ditp", "access_org": "dinum"},
    ),
    "organisme-inconnu": CodeInfo(
        E,
        "organisme inconnu du plan",
        Wording(
            "{% if from_template %}Le modèle indique l'organisme « {{ value }} », qui n'est pas un organisme "
            "du plan{% else %}Le dossier ou la source « {{ value }} » ne désigne aucun organisme du plan"
            "{% endif %} : on ne sait pas qui rend compte. Le fichier est archivé, rien n'en est publié.",
            _ATTRIBUTION_FIX + "{% if close %} Identifiants proches : {{ close | join(', ') }}.{% endif %}",
        ),
        fields={"value": "ministere-sante", "from_template": True, "source": "inbox", "close": ["msp"]},
    ),
    "organisme-non-identifie": CodeInfo(
        E,
        "organisme non identifié",
        Wording(
            "On ne sait pas quel organisme a envoyé ce fichier (ni modèle d'organisme, ni dossier "
            "d'organisme, ni source déclarée) : il est archivé, rien n'en est publié.",
            _ATTRIBUTION_FIX,
        ),
        fields={"source": "file"},
    ),
    "aucune-ligne": CodeInfo(
        E,
        "aucune ligne remplie",
        Wording(
            "Le fichier ne contient aucune ligne de suivi remplie.",
            "Remplissez au moins la date du rapport et le statut d'une action (ou la date et la valeur "
            "atteinte d'une cible), puis renvoyez le fichier.",
        ),
    ),
    # Business rules (validate.rules, great-expectations). ``column`` is the rule's column as
    # the template names it, ``missing`` whether the file lacks it (validate.rules gives both).
    "complet-sans-100": CodeInfo(
        E,
        "action complète sans 100 %",
        Wording(
            "Une action au statut complet est avancée à 100 %.",
            "Indiquez 100 dans la colonne {{ column }}, ou choisissez le statut substantiel ou limite.",
        ),
        fields={**_COLUMN, "missing": True},
        variants={
            "empty": Wording(
                "Une action au statut complet est avancée à 100 % : l'avancement ne peut pas être vide."
                + _ABSENT_MESSAGE,
                _ABSENT_FIX + "ndiquez 100 dans la colonne {{ column }}.",
            )
        },
        instruction="Un statut « {{ labels.statut.complet }} » va avec un avancement de 100.",
        rule_of=(PROGRESS,),
    ),
    "statut-sans-preuve": CodeInfo(
        E,
        "action complète sans preuve",
        Wording(
            "Une action au statut complet est attestée par un lien vers une preuve publique."
            + _ABSENT_MESSAGE,
            _ABSENT_FIX + "ndiquez dans la colonne {{ column }} l'adresse d'un document public qui atteste "
            "l'achèvement.",
        ),
        fields=_ABSENT,
        instruction="Un statut « {{ labels.statut.complet }} » va avec un lien vers une preuve.",
        rule_of=(PROGRESS,),
    ),
    "non-commence-avec-avancement": CodeInfo(
        E,
        "action non commencée avec un avancement",
        Wording(
            "Une action non commencée a un avancement de 0 % ou vide.",
            "Mettez 0 ou videz la colonne {{ column }}, ou choisissez le statut limite.",
        ),
        fields=_COLUMN,
        instruction="Un statut « {{ labels.statut.non_commence }} » va avec un avancement de 0 ou vide.",
        rule_of=(PROGRESS,),
    ),
    "date-avant-plan": CodeInfo(
        E,
        "date avant le début du plan",
        Wording(
            "La date du rapport ne peut pas précéder le début du plan ({{ start }}).",
            "Vérifiez l'année de la date (format JJ/MM/AAAA ou AAAA-MM-JJ).",
        ),
        fields={"start": "01/01/2021"},
        instruction="La date du rapport ne précède pas le début du plan ({{ plan_start }}).",
        rule_of=(PROGRESS, TARGETS),
    ),
    # A date after today is a date in the future, whatever the reception: date-future wins,
    # and date-rapport-apres-reception says the rest (after the reception, not after today).
    "date-future": CodeInfo(
        E,
        "date dans le futur",
        Wording(
            "La date du rapport ne peut pas être dans le futur (après le {{ today }}).",
            "Indiquez la date du constat, au plus tard aujourd'hui.",
        ),
        fields={"today": "28/11/2026"},
        rule_of=(PROGRESS, TARGETS),
    ),
    "date-rapport-apres-reception": CodeInfo(
        E,
        "date postérieure à la réception du fichier",
        Wording(
            "La date du rapport est postérieure au jour où le fichier a été reçu ({{ received }}) : un "
            "rapport ne peut pas décrire l'avenir de son propre envoi.",
            "Indiquez la date du constat, au plus tard le jour de l'envoi du fichier, puis renvoyez-le.",
        ),
        fields={"received": "16/01/2023"},
        instruction="La date du rapport n'est pas postérieure au jour où vous envoyez le fichier.",
        rule_of=(PROGRESS, TARGETS),
    ),
    "action-hors-responsabilite": CodeInfo(
        E,
        "action d'un autre organisme",
        Wording(
            "L'organisme {{ organisation }} ne figure pas parmi les responsables de cette action."
            "{% if bodies %} Responsable(s) : {{ bodies | join(', ') }}.{% endif %}",
            "Retirez la ligne (l'organisme responsable en rendra compte) ou vérifiez l'identifiant de "
            "l'action.",
        ),
        fields={"organisation": "ditp", "bodies": ["dinum", "etalab"]},
        instruction="Chaque ligne porte sur une action dont votre organisme est responsable.",
        rule_of=(PROGRESS,),
    ),
    "recul-sans-commentaire": CodeInfo(
        W,
        "avancement en recul sans commentaire",
        Wording(
            "L'avancement d'une action recule par rapport à son rapport précédent ({{ previous }}) sans "
            "commentaire qui l'explique.",
            "Expliquez le recul dans la colonne Commentaire, ou corrigez le pourcentage.",
        ),
        fields={"previous": "60"},
        instruction="Un avancement qui recule par rapport au rapport précédent est expliqué dans le "
        "commentaire.",
        rule_of=(PROGRESS,),
    ),
    "baisse-sans-commentaire": CodeInfo(
        W,
        "valeur atteinte en baisse sans commentaire",
        Wording(
            "La valeur atteinte par la cible baisse par rapport à son rapport précédent ({{ previous }}) "
            "sans commentaire qui l'explique.",
            "Expliquez la baisse dans la colonne Commentaire (changement de mesure, correction), ou corrigez "
            "la valeur.",
        ),
        fields={"previous": "12,5"},
        instruction="Une valeur atteinte qui baisse par rapport au rapport précédent est expliquée dans le "
        "commentaire.",
        rule_of=(TARGETS,),
    ),
    "cible-hors-responsabilite": CodeInfo(
        E,
        "cible d'une action d'un autre organisme",
        Wording(
            "La cible appartient à une action dont l'organisme {{ organisation }} n'est pas responsable. "
            "Action {{ action }}{% if bodies %}, responsable(s) : {{ bodies | join(', ') }}{% endif %}.",
            "Retirez la ligne (l'organisme responsable de l'action en rendra compte) ou vérifiez "
            "l'identifiant de la cible.",
        ),
        fields={"organisation": "ditp", "action": "E3-A2-03", "bodies": ["mtfp", "anct"]},
        instruction="Chaque ligne porte sur une cible d'une action dont votre organisme est responsable.",
        rule_of=(TARGETS,),
    ),
    "jalon-ni-0-ni-1": CodeInfo(
        E,
        "jalon ni franchi (1) ni à venir (0)",
        Wording(
            "Cette cible est un jalon (une livraison à une date, sans chiffre) : sa valeur atteinte est 1 "
            "quand il est franchi, 0 sinon.",
            "Indiquez 1 si le jalon est franchi à la date du rapport, 0 sinon ; précisez dans le commentaire "
            "ce qui reste à faire.",
        ),
        instruction="Un jalon vaut 1 quand il est franchi, 0 sinon.",
        rule_of=(TARGETS,),
    ),
}

CODES: dict[str, CodeInfo] = {**FRICTIONLESS, **OURS}


def code_info(code: str) -> CodeInfo:
    """The registry's entry; a frictionless code not listed (frictionless may add some)
    gets a generic entry rather than failing a report."""
    return CODES.get(code) or CodeInfo(
        E,
        code,
        Wording("frictionless signale une erreur de ce type.", "Corrigez la valeur indiquée."),
        fields=_FRICTIONLESS_FIELDS,
        frictionless=True,
    )


@cache
def _template(source: str) -> Any:
    """A compiled template (plain text: reports escape what they render). Imported on the
    first template with a block: a run without one does not load Jinja2."""
    import jinja2

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    return environment.from_string(source)


_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@cache
def _plain(source: str) -> str | None:
    """The template as a ``str.format`` string when it has only ``{{ name }}`` fields (most
    do): rendered the same, five times faster than Jinja2's context (a table of a million
    rows may have ten thousand findings). ``None`` when it needs Jinja2."""
    parts = _PLACEHOLDER.split(source)  # text, name, text, name, …, text
    literal, names = parts[::2], parts[1::2]
    if any("{" in part or "}" in part for part in literal):
        return None
    return literal[0] + "".join(f"{{{n}}}{text}" for n, text in zip(names, literal[1:], strict=True))


def render(source: str, fields: Mapping[str, Any]) -> str:
    """One template with its fields; a field it uses and is not given is an error."""
    if not source:
        return ""
    plain = _plain(source)
    if plain is not None:
        try:
            return plain.format_map(fields)
        except KeyError:
            pass  # Jinja2 says which field is missing
    return str(_template(source).render(fields))


def wording_of(code: str, variant: str | None) -> Wording:
    """The wording of a code for one case; an unknown variant is the caller's mistake."""
    info = code_info(code)
    if variant is None:
        return info.wording
    if variant not in info.variants:
        raise KeyError(f"{code} has no variant {variant!r}")
    return info.variants[variant]


def instructions_for(schema_name: str, fields: Mapping[str, Any]) -> list[str]:
    """The sentences of the template's Instructions sheet for the business rules of one
    submission format, in registry order."""
    return [
        render(info.instruction, fields)
        for info in OURS.values()
        if schema_name in info.rule_of and info.instruction
    ]
