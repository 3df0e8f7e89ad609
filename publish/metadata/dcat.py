"""Publish stage: the DCAT-AP 3.0 catalogue of every published dataset, for portal harvesters.

Built with rdflib from the dataset definitions and what is served (``versions.json`` and
the served version's ``datapackage.json``), so it says what the files say. Choices that
harvesters depend on:

- A dataset's URI and ``dct:identifier`` never change between versions: a harvester
  updates the dataset it imported, never duplicates it. Earlier versions are reachable
  through ``versions.json`` and ``CHANGELOG.md`` (``foaf:page``) and the version notes,
  not as datasets of their own.
- Each dataset's Atom feed of versions (``versions.atom``), and the catalogue's, are
  ``dct:relation`` of the dataset and of the catalogue: related resources a reader
  subscribes to, beside ``dcat:landingPage`` and ``foaf:page``, which keep their meaning.
- A distribution's ``dcat:downloadURL`` is the stable ``latest/`` URL of the file, so a
  new version updates each resource in place.
- Every node has a URI (hash URIs under the dataset's) except the temporal coverage, a
  blank node with a fixed label: the same inputs serialise to the same bytes.
- France, the spatial coverage, is the EU country term with a geometry on it
  (``locn:geometry``, a ``gsp:wktLiteral``; see :data:`FRANCE_BOXES`): udata takes a
  dataset's spatial coverage from a geometry only, never from the term's URI.
- The Table Schemas are ``dct:conformsTo`` of the distributions only: each describes one
  table's files, and no dataset as a whole conforms to one of them.
- Two profiles differ in the checksum only. ``dcat-ap`` types ``spdx:checksumValue`` as
  ``xsd:hexBinary`` and names the algorithm under ``https://spdx.org/rdf/terms``, as the
  DCAT-AP 3.0.1 shapes require; ``datagouv`` leaves the value a plain literal and uses
  SPDX's own ``http://`` namespace, because udata (data.gouv.fr) rejects a whole dataset
  whose checksum is typed (rdflib turns it into bytes) and only knows that namespace.
  Both keep every checksum.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rdflib import BNode, Graph, Namespace, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD

from pipelines.core.config import CatalogConfig, DatasetConfig, SubmissionsSource
from publish import versioning as v
from publish.metadata.datapackage import table_of

FEED_FILE = "versions.atom"  # the feed of versions (publish.feeds), a dct:relation
FEED_TYPE = "application/atom+xml"
ADMS = Namespace("http://www.w3.org/ns/adms#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
DCAT_VERSION = URIRef(f"{DCAT}version")  # DCAT 3; rdflib's closed DCAT namespace predates it
SPDX = Namespace("http://spdx.org/rdf/terms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"
# The Etalab page URI: udata resolves it to "lov2" and CKAN's data.gouv.fr licence register
# matches it exactly (without a trailing slash); the EU ETALAB_2_0 URI is not recognised.
LICENCE_URIS = {"etalab-2.0": "https://www.etalab.gouv.fr/licence-ouverte-open-licence"}
FILE_TYPES = {"csv": "CSV", "parquet": "PARQUET", "json": "JSON", "xlsx": "XLSX"}
COUNTRIES = {"France": "FRA"}

# France as a geometry. The plan is the national one, so its coverage is the whole
# Republic: one bounding box per inhabited part of it, in WGS84 longitude and latitude
# (west, south, east, north; the extreme points rounded outward to 0.1°): metropolitan
# France with Corsica, the five overseas departments and regions, the overseas
# collectivities and New Caledonia. Boxes, not outlines: a few hundred bytes of fixed text
# that only say where the country is (the API channel names udata's ``country:fr`` zone
# instead). Left out: the French Southern and Antarctic Lands and Clipperton, which have
# no permanent population (Adélie Land is an Antarctic claim). One box around them all
# would span most of the globe, so there is no ``dcat:bbox``: udata merges every WKT
# literal of the node into one multipolygon, where a world-sized box would swamp the rest.
FRANCE_BOXES: tuple[tuple[str, float, float, float, float], ...] = (
    ("France métropolitaine", -5.2, 41.3, 9.6, 51.1),
    ("Guadeloupe", -61.9, 15.8, -60.9, 16.6),
    ("Martinique", -61.3, 14.3, -60.8, 14.9),
    ("Guyane", -54.7, 2.1, -51.5, 5.8),
    ("La Réunion", 55.2, -21.4, 55.9, -20.8),
    ("Mayotte", 44.9, -13.1, 45.4, -12.6),
    ("Saint-Pierre-et-Miquelon", -56.5, 46.7, -56.1, 47.2),
    ("Saint-Martin et Saint-Barthélemy", -63.2, 17.8, -62.7, 18.2),
    ("Wallis-et-Futuna", -178.2, -14.4, -176.1, -13.2),
    ("Polynésie française", -154.8, -28.0, -134.4, -7.7),
    ("Nouvelle-Calédonie", 157.9, -23.0, 169.0, -17.8),
)


def wkt_multipolygon(boxes: tuple[tuple[str, float, float, float, float], ...]) -> str:
    """A WKT ``MULTIPOLYGON`` of one rectangle per box, each ring counter-clockwise from its
    south-west corner (as GeoJSON wants exterior rings), in the boxes' order: the same
    boxes always give the same text."""
    rings = []
    for _, west, south, east, north in boxes:
        corners = ((west, south), (east, south), (east, north), (west, north), (west, south))
        rings.append("((" + ", ".join(f"{x} {y}" for x, y in corners) + "))")
    return "MULTIPOLYGON (" + ", ".join(rings) + ")"


# A geometry per country of COUNTRIES, in WKT (GeoSPARQL's default CRS: WGS84 lon/lat).
GEOMETRIES = {"FRA": wkt_multipolygon(FRANCE_BOXES)}
FORMAT_LABELS = {"csv": "CSV", "parquet": "Parquet", "json": "JSON", "xlsx": "XLSX"}

Profile = Literal["dcat-ap", "datagouv"]
SERIALISATIONS = {"ttl": "turtle", "jsonld": "json-ld", "rdf": "xml"}
CONTENT_TYPES = {
    "ttl": "text/turtle; charset=utf-8",
    "jsonld": "application/ld+json; charset=utf-8",
    "rdf": "application/rdf+xml; charset=utf-8",
}


@dataclass(frozen=True)
class PublishedDataset:
    """What is served of one dataset: its definition, version log and served descriptor."""

    config: DatasetConfig
    log: v.VersionLog
    descriptor: dict[str, Any]

    @classmethod
    def read(cls, out: Path, config: DatasetConfig) -> PublishedDataset | None:
        """The served version, described as it was published: its own title and description
        (« [Données d'exemple] » or not) and sample mark, whatever this run's settings are.

        After a rollback, pages and catalogue describe the version that is served again,
        not the newest one, nor the one this run would build."""
        dataset_dir = out / "datasets" / config.slug
        log = v.read_log(dataset_dir)
        if log.served is None:
            return None
        descriptor = json.loads((dataset_dir / log.served / "datapackage.json").read_text(encoding="utf-8"))
        entry = log.entry(log.served)
        update: dict[str, Any] = {
            "title": descriptor.get("title", config.title),
            "description": descriptor.get("description", config.description),
        }
        if isinstance(config.source, SubmissionsSource) and entry is not None:
            update["source"] = config.source.model_copy(
                update={"sample": v.version_is_sample(dataset_dir, entry)}
            )
        return cls(config.model_copy(update=update), log, descriptor)

    def rollback(self) -> v.Rollback | None:
        """The rollback that made the served version served again, if it is one."""
        last = self.log.rollbacks[-1] if self.log.rollbacks else None
        return last if last is not None and last.to_version == self.log.served else None

    @property
    def served(self) -> v.VersionEntry:
        """The log entry of the served version (``read`` only builds a dataset that serves one)."""
        entry = self.log.entry(self.log.served or "")
        assert entry is not None
        return entry


def dataset_uri(base_url: str, slug: str) -> URIRef:
    """The dataset's URI and ``dct:identifier``: the same for every version, so harvesters update it."""
    return URIRef(f"{base_url}datasets/{slug}")


def schema_url(base_url: str, table: str) -> str:
    """The URL of a table's published Table Schema, which its distributions and resources conform to."""
    return f"{base_url}schemas/{table}.json"


# Labels of the EU authority table terms used (DCAT-AP requires a skos:prefLabel).
PREF_LABELS = {
    f"{EU}data-theme/GOVE": "Gouvernement et secteur public",
    f"{EU}language/FRA": "français",
    f"{EU}country/FRA": "France",
    f"{EU}frequency/AS_NEEDED": "au besoin",
    f"{EU}frequency/IRREG": "irrégulière",
    f"{EU}frequency/NEVER": "jamais",
    f"{EU}frequency/DAILY": "quotidienne",
    f"{EU}frequency/WEEKLY": "hebdomadaire",
    f"{EU}frequency/MONTHLY": "mensuelle",
    f"{EU}frequency/QUARTERLY": "trimestrielle",
    f"{EU}frequency/ANNUAL": "annuelle",
    f"{EU}frequency/CONT": "continue",
    f"{EU}frequency/UNKNOWN": "inconnue",
    f"{EU}file-type/CSV": "CSV",
    f"{EU}file-type/PARQUET": "Parquet",
    f"{EU}file-type/JSON": "JSON",
    f"{EU}file-type/XLSX": "XLSX",
    "http://purl.org/adms/publishertype/NationalAuthority": "Autorité nationale",
    f"{EU}planned-availability/STABLE": "stable",
}
# The SPDX algorithm IRI: DCAT-AP 3.0.1's vocabulary shape wants it under https://spdx.org;
# udata only recognises SPDX's own namespace (http://spdx.org/rdf/terms#).
CHECKSUM_ALGORITHMS = {
    "dcat-ap": URIRef("https://spdx.org/rdf/terms#checksumAlgorithm_sha256"),
    "datagouv": URIRef("http://spdx.org/rdf/terms#checksumAlgorithm_sha256"),
}

SCHEME_TITLES = {
    f"{EU}data-theme": "Thèmes des données",
    f"{EU}language": "Langues",
    f"{EU}country": "Pays et territoires",
    f"{EU}frequency": "Fréquences",
    f"{EU}file-type": "Types de fichiers",
    "http://purl.org/adms/publishertype/1.0": "Types d'éditeurs (ADMS)",
    f"{EU}planned-availability": "Disponibilité prévue",
}


def _concept(graph: Graph, uri: str, scheme: str, kind: URIRef | None = None) -> URIRef:
    """A term of an EU authority table, typed as the DCAT-AP vocabulary shapes expect
    (the tables themselves are not in the graph, so each term says which scheme it is in)."""
    node = URIRef(uri)
    graph.add((node, RDF.type, SKOS.Concept))
    graph.add((node, SKOS.inScheme, URIRef(scheme)))
    graph.add((URIRef(scheme), RDF.type, SKOS.ConceptScheme))
    graph.add((URIRef(scheme), DCTERMS.title, RdfLiteral(SCHEME_TITLES[scheme], lang="fr")))
    graph.add((node, SKOS.prefLabel, RdfLiteral(PREF_LABELS[uri], lang="fr")))
    if kind is not None:
        graph.add((node, RDF.type, kind))
    return node


def _place(graph: Graph, country: str) -> URIRef:
    """The EU country term as a ``dct:Location`` with its geometry (``locn:geometry``, a
    ``gsp:wktLiteral``), the one node both the catalogue and its datasets point at.

    udata (``spatial_from_rdf``) reads any WKT or GeoJSON literal of the ``dct:spatial``
    node and ckanext-dcat reads ``locn:geometry`` of a ``dct:Location``; without a geometry
    both keep only the URI, and udata no spatial coverage at all."""
    place = _concept(graph, f"{EU}country/{country}", f"{EU}country", DCTERMS.Location)
    graph.add((place, LOCN.geometry, RdfLiteral(GEOMETRIES[country], datatype=GSP.wktLiteral)))
    return place


def _agent(graph: Graph, node: URIRef, name: str) -> URIRef:
    graph.add((node, RDF.type, FOAF.Organization))
    graph.add((node, RDF.type, FOAF.Agent))
    graph.add((node, FOAF.name, RdfLiteral(name, lang="fr")))
    graph.add(
        (
            node,
            DCTERMS.type,
            _concept(
                graph,
                "http://purl.org/adms/publishertype/NationalAuthority",
                "http://purl.org/adms/publishertype/1.0",
            ),
        )
    )
    return node


def _licence(graph: Graph, licence_id: str, title: str) -> URIRef:
    node = URIRef(LICENCE_URIS.get(licence_id, licence_id))
    graph.add((node, RDF.type, DCTERMS.LicenseDocument))
    graph.add((node, DCTERMS.title, RdfLiteral(title, lang="fr")))
    return node


def _date(value: str) -> RdfLiteral:
    return RdfLiteral(value, datatype=XSD.date)


def add_dataset(
    graph: Graph, catalog: URIRef, published: PublishedDataset, base_url: str, profile: Profile
) -> URIRef:
    """Adds one served dataset to ``catalog`` in ``graph``, with a distribution per file; returns its node.

    Described from the served version (its log entry and descriptor), not from the newest one.
    Each table's schema is the ``dct:conformsTo`` of that table's distributions and never of
    the dataset: udata keeps one dataset-level ``conformsTo`` only (whichever rdflib yields
    first), which would label a dataset of seven tables with one table's schema."""
    config, log, descriptor = published.config, published.log, published.descriptor
    node = dataset_uri(base_url, config.slug)
    page = f"{base_url}datasets/{config.slug}/"
    graph.add((catalog, DCAT.dataset, node))
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.identifier, RdfLiteral(str(node))))
    graph.add((node, DCTERMS.title, RdfLiteral(config.title, lang="fr")))
    graph.add((node, DCTERMS.description, RdfLiteral(config.description, lang="fr")))
    for keyword in config.keywords:
        graph.add((node, DCAT.keyword, RdfLiteral(keyword, lang="fr")))
    for theme in config.themes:
        graph.add((node, DCAT.theme, _concept(graph, f"{EU}data-theme/{theme}", f"{EU}data-theme")))
    graph.add(
        (
            node,
            DCTERMS.language,
            _concept(graph, f"{EU}language/FRA", f"{EU}language", DCTERMS.LinguisticSystem),
        )
    )
    publisher = _agent(graph, URIRef(f"{node}#editeur"), config.publisher.name)
    graph.add((node, DCTERMS.publisher, publisher))
    if config.contact is not None:
        contact = URIRef(f"{node}#contact")
        graph.add((node, DCAT.contactPoint, contact))
        graph.add((contact, RDF.type, VCARD.Organization))
        graph.add((contact, RDF.type, VCARD.Kind))
        graph.add((contact, VCARD.fn, RdfLiteral(config.contact.name, lang="fr")))
        graph.add((contact, VCARD.hasURL, URIRef(config.contact.url)))
        if config.contact.email:
            graph.add((contact, VCARD.hasEmail, URIRef(f"mailto:{config.contact.email}")))
    if config.spatial_coverage in COUNTRIES:
        graph.add((node, DCTERMS.spatial, _place(graph, COUNTRIES[config.spatial_coverage])))
    if config.temporal_coverage is not None:
        # A blank node: udata dereferences a period given as a URI (and fails offline).
        # Its label is fixed so that serialisations stay byte-identical.
        period = BNode(f"periode-{config.slug}")
        graph.add((node, DCTERMS.temporal, period))
        graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
        graph.add((period, DCAT.startDate, _date(config.temporal_coverage.start.isoformat())))
        graph.add((period, DCAT.endDate, _date(config.temporal_coverage.end.isoformat())))
    graph.add(
        (
            node,
            DCTERMS.accrualPeriodicity,
            _concept(graph, f"{EU}frequency/{config.frequency}", f"{EU}frequency", DCTERMS.Frequency),
        )
    )
    served = published.served
    graph.add((node, DCTERMS.issued, _date(log.versions[0].date)))
    graph.add((node, DCTERMS.modified, _date(served.date)))
    graph.add((node, DCAT_VERSION, RdfLiteral(served.version)))
    graph.add(
        (
            node,
            ADMS.versionNotes,
            RdfLiteral(
                f"Version {served.version} ({served.level}) : " + " ; ".join(served.reasons) + ".",
                lang="fr",
            ),
        )
    )
    graph.add((node, DCAT.landingPage, _document(graph, page)))
    for name in (v.VERSIONS_FILE, v.CHANGELOG_FILE):
        graph.add((node, FOAF.page, _document(graph, f"{page}{name}")))
    # The Atom feed of its versions: a related resource (what a reader subscribes to), not
    # a distribution of the data nor a page of documentation.
    graph.add((node, DCTERMS.relation, _document(graph, f"{page}{FEED_FILE}")))
    licence = _licence(graph, config.licence.id, config.licence.title)
    graph.add((node, DCTERMS.license, licence))
    for resource in descriptor["resources"]:
        table = table_of(resource)
        standard = None
        if table is not None:  # the workbook holds several tables: no one schema
            standard = URIRef(schema_url(base_url, table))
            graph.add((standard, RDF.type, DCTERMS.Standard))
        _add_distribution(
            graph, node, page, resource, table or resource["name"], standard, licence, served, profile
        )
    return node


def _document(graph: Graph, url: str) -> URIRef:
    node = URIRef(url)
    graph.add((node, RDF.type, FOAF.Document))
    return node


def _add_distribution(
    graph: Graph,
    dataset: URIRef,
    page: str,
    resource: dict[str, Any],
    table: str,
    standard: URIRef | None,
    licence: URIRef,
    served: v.VersionEntry,
    profile: Profile,
) -> None:
    fmt = resource["format"]
    node = URIRef(f"{dataset}/distributions/{table}-{fmt}")
    graph.add((dataset, DCAT.distribution, node))
    graph.add((node, RDF.type, DCAT.Distribution))
    graph.add((node, DCTERMS.identifier, RdfLiteral(f"{table}-{fmt}")))
    graph.add((node, DCTERMS.title, RdfLiteral(f"{table} ({FORMAT_LABELS[fmt]})", lang="fr")))
    graph.add(
        (
            node,
            DCTERMS.description,
            RdfLiteral(
                f"{resource['description']} Format {FORMAT_LABELS[fmt]}"
                + (f" ; schéma : {standard}" if standard is not None else "."),
                lang="fr",
            ),
        )
    )
    graph.add((node, DCAT.downloadURL, URIRef(f"{page}latest/{resource['path']}")))
    graph.add((node, DCAT.accessURL, URIRef(page)))
    graph.add(
        (
            node,
            DCTERMS.format,
            _concept(graph, f"{EU}file-type/{FILE_TYPES[fmt]}", f"{EU}file-type", DCTERMS.MediaTypeOrExtent),
        )
    )
    media = URIRef(f"{IANA}{resource['mediatype']}")
    graph.add((media, RDF.type, DCTERMS.MediaType))
    graph.add((node, DCAT.mediaType, media))
    graph.add((node, DCAT.byteSize, RdfLiteral(resource["bytes"], datatype=XSD.nonNegativeInteger)))
    checksum = URIRef(f"{node}#sha256")
    graph.add((node, SPDX.checksum, checksum))
    graph.add((checksum, RDF.type, SPDX.Checksum))
    algorithm = CHECKSUM_ALGORITHMS[profile]
    graph.add((checksum, SPDX.algorithm, algorithm))
    graph.add((algorithm, RDF.type, SPDX.ChecksumAlgorithm))
    digest = resource["hash"].removeprefix("sha256:")
    graph.add(
        (
            checksum,
            SPDX.checksumValue,
            RdfLiteral(digest, datatype=XSD.hexBinary) if profile == "dcat-ap" else RdfLiteral(digest),
        )
    )
    graph.add((node, DCTERMS.license, licence))
    if standard is not None:
        graph.add((node, DCTERMS.conformsTo, standard))
    graph.add((node, DCTERMS.modified, _date(served.date)))
    # The latest/ URL stays: what it serves changes with each version, the address does not.
    graph.add(
        (
            node,
            DCATAP.availability,
            _concept(graph, f"{EU}planned-availability/STABLE", f"{EU}planned-availability"),
        )
    )


def build_catalog(
    catalog_config: CatalogConfig,
    datasets: list[PublishedDataset],
    base_url: str,
    profile: Profile = "dcat-ap",
) -> Graph:
    """The catalogue graph: one ``dcat:Dataset`` per served dataset, in slug order."""
    graph = Graph(bind_namespaces="core")
    for prefix, namespace in (
        ("dcat", DCAT),
        ("dct", DCTERMS),
        ("foaf", FOAF),
        ("skos", SKOS),
        ("adms", ADMS),
        ("spdx", SPDX),
        ("vcard", VCARD),
        ("xsd", XSD),
        ("dcatap", DCATAP),
        ("gsp", GSP),
        ("locn", LOCN),
    ):
        graph.bind(prefix, namespace)
    catalog = URIRef(f"{base_url}catalog")
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, RdfLiteral(catalog_config.title, lang="fr")))
    graph.add((catalog, DCTERMS.description, RdfLiteral(catalog_config.description, lang="fr")))
    graph.add(
        (
            catalog,
            DCTERMS.publisher,
            _agent(graph, URIRef(f"{catalog}#editeur"), catalog_config.publisher.name),
        )
    )
    graph.add((catalog, FOAF.homepage, _document(graph, base_url)))
    graph.add((catalog, DCTERMS.relation, _document(graph, f"{base_url}{FEED_FILE}")))
    graph.add(
        (
            catalog,
            DCTERMS.language,
            _concept(graph, f"{EU}language/FRA", f"{EU}language", DCTERMS.LinguisticSystem),
        )
    )
    licences = {d.config.licence.id: d.config.licence.title for d in datasets}
    if len(licences) == 1:
        ((licence_id, title),) = licences.items()
        graph.add((catalog, DCTERMS.license, _licence(graph, licence_id, title)))
    if datasets:
        graph.add((catalog, DCTERMS.issued, _date(min(d.log.versions[0].date for d in datasets))))
        graph.add((catalog, DCTERMS.modified, _date(max(d.served.date for d in datasets))))
    graph.add((catalog, DCAT.themeTaxonomy, URIRef(f"{EU}data-theme")))
    places = {
        str(d.config.spatial_coverage) for d in datasets if d.config.spatial_coverage
    } & COUNTRIES.keys()
    for place in sorted(places):
        graph.add((catalog, DCTERMS.spatial, _place(graph, COUNTRIES[place])))
    for published in sorted(datasets, key=lambda d: d.config.slug):
        add_dataset(graph, catalog, published, base_url, profile)
    return graph


def _sorted_json(value: Any) -> Any:
    """JSON-LD with every list in a fixed order (rdflib lists nodes in hash order)."""
    if isinstance(value, dict):
        return {k: _sorted_json(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sorted_json(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value


def _xml_escape(text: str, attribute: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if attribute else text


def _rdf_xml(graph: Graph) -> bytes:
    """RDF/XML written subject by subject and statement by statement in sorted order.

    rdflib's own RDF/XML serialiser walks its store in hash order, so its output changes
    from one process to the next; this one only depends on the triples.
    """
    names = graph.namespace_manager
    used: dict[str, str] = {"rdf": str(RDF)}
    lines: list[str] = []
    for subject in sorted(set(graph.subjects())):  # type: ignore[type-var]  # rdflib's own order
        about = (
            f'rdf:nodeID="{_xml_escape(str(subject), True)}"'
            if isinstance(subject, BNode)
            else f'rdf:about="{_xml_escape(str(subject), True)}"'
        )
        lines.append(f"  <rdf:Description {about}>")
        for predicate, obj in sorted(graph.predicate_objects(subject)):
            prefix, namespace, local = names.compute_qname_strict(str(predicate))
            used[prefix] = str(namespace)
            tag = f"{prefix}:{local}"
            if isinstance(obj, BNode):
                lines.append(f'    <{tag} rdf:nodeID="{_xml_escape(str(obj), True)}"/>')
            elif isinstance(obj, URIRef):
                lines.append(f'    <{tag} rdf:resource="{_xml_escape(str(obj), True)}"/>')
            else:
                assert isinstance(obj, RdfLiteral)
                attributes = ""
                if obj.language:
                    attributes = f' xml:lang="{obj.language}"'
                elif obj.datatype:
                    attributes = f' rdf:datatype="{_xml_escape(str(obj.datatype), True)}"'
                lines.append(f"    <{tag}{attributes}>{_xml_escape(str(obj))}</{tag}>")
        lines.append("  </rdf:Description>")
    declarations = "".join(f'\n  xmlns:{p}="{_xml_escape(ns, True)}"' for p, ns in sorted(used.items()))
    header = f'<?xml version="1.0" encoding="utf-8"?>\n<rdf:RDF{declarations}\n>\n'
    return (header + "\n".join(lines) + "\n</rdf:RDF>\n").encode("utf-8")


def serialise(graph: Graph, extension: str) -> bytes:
    """One serialisation, as bytes that only depend on the graph's triples."""
    fmt = SERIALISATIONS[extension]
    if fmt == "json-ld":
        # An inline context: a remote one would make harvesters fetch it (udata fails offline).
        context = {
            prefix: str(ns)
            for prefix, ns in graph.namespaces()
            if prefix
            in ("dcat", "dct", "foaf", "skos", "adms", "spdx", "vcard", "xsd", "dcatap", "gsp", "locn")
        }
        document = json.loads(graph.serialize(format="json-ld", context=context))
        return (
            json.dumps(_sorted_json(document), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        ).encode("utf-8")
    if fmt == "xml":
        return _rdf_xml(graph)
    return graph.serialize(format=fmt, encoding="utf-8")
