"""Interface text in Indonesian and English: one table, the reader's language, template helpers.

Every string a page shows that does not come from the graph is in `UI` (templates call
`t("key")`, Python calls `text(key, lang)`). The reader's language is `?lang=` when given, else
the best of `Accept-Language`, else English; an explicit choice is carried on every link
(`with_lang`). Labels of RDF terms and the resource page's group titles are the data layer's
(`ikmkg.view`), since they are computed without a request.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, request
from markupsafe import escape

from ikmkg.describe import DEFAULT_LANGUAGE, LANGUAGES

#: Interface strings in both languages, by key.
UI: dict[str, dict[str, str]] = {
    # site, navigation, home page, resource and list pages, ontology page
    "home": {"en": "Home", "id": "Beranda"},
    "query": {"en": "Query", "id": "Kueri"},
    "ontology": {"en": "Ontology", "id": "Ontologi"},
    "dumps": {"en": "Dumps", "id": "Unduhan"},
    "releases": {"en": "Releases", "id": "Rilis"},
    "language": {"en": "Language", "id": "Bahasa"},
    "site_title": {"en": "IKM development knowledge graph",
                   "id": "Graf pengetahuan pengembangan IKM"},
    "site_intro": {
        "en": "Linked data about the development programme for small and medium industry (IKM) "
              "of Indonesia's Ministry of Industry with JICA: provinces and their engagements, "
              "product categories, organisations, people, codes, and the source sentence behind "
              "every fact.",
        "id": "Data tertaut tentang program pengembangan industri kecil dan menengah (IKM) "
              "Kementerian Perindustrian bersama JICA: provinsi dan keterlibatannya, kategori "
              "produk, lembaga, tokoh, kode, dan kalimat sumber di balik setiap fakta."},
    "identifier": {"en": "Identifier", "id": "Pengenal"},
    "types": {"en": "Types", "id": "Jenis"},
    "codes": {"en": "Codes", "id": "Kode"},
    "referenced_by": {"en": "Referenced by", "id": "Dirujuk oleh"},
    "referenced_by_cut": {"en": "Only the first statements are shown.",
                          "id": "Hanya pernyataan pertama yang ditampilkan."},
    "provenance": {"en": "Source", "id": "Sumber"},
    "sentence": {"en": "sentence", "id": "kalimat"},
    "said_by": {"en": "said by", "id": "diucapkan oleh"},
    "direct_quote": {"en": "direct quote", "id": "kutipan langsung"},
    "reference_statements": {"en": "Statements from the reference tables",
                             "id": "Pernyataan dari tabel rujukan"},
    "formats": {"en": "This page as data", "id": "Halaman ini sebagai data"},
    "external": {"en": "external", "id": "eksternal"},
    "counts": {"en": "What the graph holds", "id": "Isi graf"},
    "class": {"en": "Class", "id": "Kelas"},
    "instances": {"en": "Instances", "id": "Jumlah"},
    "browse": {"en": "Browse by type", "id": "Jelajahi menurut jenis"},
    "phases": {"en": "The programme's phases", "id": "Fase program"},
    "engagements": {"en": "engagements", "id": "keterlibatan"},
    "questions": {"en": "Example questions", "id": "Contoh pertanyaan"},
    "dumps_text": {"en": "Download the whole graph", "id": "Unduh seluruh graf"},
    "license": {"en": "License", "id": "Lisensi"},
    "cite": {"en": "How to cite", "id": "Cara mengutip"},
    "version": {"en": "version", "id": "versi"},
    "list_of": {"en": "All resources of type", "id": "Semua sumber daya berjenis"},
    "related": {"en": "Related", "id": "Terkait"},
    "next": {"en": "Next page", "id": "Halaman berikut"},
    "previous": {"en": "Previous page", "id": "Halaman sebelumnya"},
    "classes": {"en": "Classes", "id": "Kelas"},
    "properties": {"en": "Properties", "id": "Properti"},
    "shapes": {"en": "Shapes", "id": "Bentuk (SHACL)"},
    "label_en": {"en": "English label", "id": "Label bahasa Inggris"},
    "label_id": {"en": "Indonesian label", "id": "Label bahasa Indonesia"},
    "definition": {"en": "Definition", "id": "Definisi"},
    "comment": {"en": "Comment", "id": "Keterangan"},
    "kind": {"en": "Kind", "id": "Macam"},
    "superclasses": {"en": "Subclass of", "id": "Subkelas dari"},
    "subclasses": {"en": "Subclasses", "id": "Subkelas"},
    "superproperties": {"en": "Subproperty of", "id": "Subproperti dari"},
    "subproperties": {"en": "Subproperties", "id": "Subproperti"},
    "domain": {"en": "Domain", "id": "Domain"},
    "range": {"en": "Range", "id": "Jangkauan"},
    "constrained_by": {"en": "Constrained by", "id": "Dibatasi oleh"},
    "in_data": {"en": "In the published graph", "id": "Dalam graf terbit"},
    "uses": {"en": "statements", "id": "pernyataan"},
    "examples": {"en": "Examples", "id": "Contoh"},
    "query_error": {"en": "The query was not run", "id": "Kueri tidak dijalankan"},
    "line": {"en": "line", "id": "baris"},
    "column": {"en": "column", "id": "kolom"},
    "may_come": {"en": "What may come here", "id": "Yang dapat muncul di sini"},
    "in_code": {"en": "This query as code", "id": "Kueri ini sebagai kode"},
    "in_code_note": {"en": "The same request, ready to run in your own analysis.",
                     "id": "Permintaan yang sama, siap dijalankan dalam analisis Anda."},
    "run_the_query": {"en": "Run query", "id": "Jalankan kueri"},
    "run_query": {"en": "List them with SPARQL", "id": "Tampilkan dengan SPARQL"},
    "targets": {"en": "Targets", "id": "Sasaran"},
    "path": {"en": "Path", "id": "Jalur"},
    "contents": {"en": "Contents", "id": "Daftar isi"},
    "not_found": {"en": "Not found", "id": "Tidak ditemukan"},
    "not_found_text": {"en": "The published graph says nothing about",
                       "id": "Graf terbit tidak memuat apa pun tentang"},
    "fallback": {"en": "Labels are shown in English, else Indonesian, else without language tag.",
                 "id": "Label ditampilkan dalam bahasa Indonesia, jika tidak ada dalam bahasa "
                       "Inggris, jika tidak ada tanpa tag bahasa."},
    "question_phases": {"en": "Which provinces took part in each phase?",
                        "id": "Provinsi mana saja yang terlibat di setiap fase?"},
    "question_products": {"en": "Which product categories does each engagement focus on?",
                          "id": "Kategori produk apa yang menjadi fokus setiap keterlibatan?"},
    "question_sources": {"en": "Which sentence of the article is each fact taken from?",
                         "id": "Dari kalimat artikel mana setiap fakta diambil?"},
    "more_questions": {"en": "More questions, ready to run", "id": "Pertanyaan lain, siap dijalankan"},
    "write_own_query": {"en": "Or write your own query", "id": "Atau tulis kueri Anda sendiri"},
    "data_and_licence": {"en": "Data, licence", "id": "Data, lisensi"},
    # shared by several templates: the page frame, release notes on resource pages, fragments
    "shown_as_in_release": {
        "en": "This resource is shown as it was in release",
        "id": "Sumber daya ini ditampilkan seperti pada rilis"},
    "see_latest": {"en": "See the latest version", "id": "Lihat versi terbaru"},
    "validation": {"en": "Validation", "id": "Validasi"},
    "conforms_release": {
        "en": "Conforms to the SHACL shapes of this release",
        "id": "Sesuai dengan bentuk SHACL rilis ini"},
    "validation_report": {"en": "validation report", "id": "laporan validasi"},
    "conforms_published": {
        "en": "Conforms to the SHACL shapes: the graph is validated before it is published",
        "id": "Sesuai dengan bentuk SHACL: graf divalidasi sebelum diterbitkan"},
    "validation_report_of": {"en": "validation report of release", "id": "laporan validasi rilis"},
    "changes": {"en": "Changes", "id": "Riwayat perubahan"},
    "changed_in_release": {"en": "Changed in release", "id": "Berubah pada rilis"},
    "resource_as_in_release": {
        "en": "This resource as in release",
        "id": "Sumber daya ini seperti pada rilis"},
    "skip_to_content": {"en": "Skip to content", "id": "Langsung ke isi"},
    "site_navigation": {"en": "Site", "id": "Navigasi situs"},
    "tpf_intro": {
        "en": "The graph's triples matching one pattern, a page at a time, with Hydra controls "
              "for clients such as Comunica. Leave a field empty for a variable; write literals "
              "quoted, e.g.",
        "id": "Tripel graf yang cocok dengan satu pola, per halaman, dengan kendali Hydra untuk "
              "klien seperti Comunica. Kosongkan kolom untuk variabel; literal ditulis dengan "
              "tanda kutip, misalnya"},
    "find_triples": {"en": "Find triples", "id": "Cari tripel"},
    "triples": {"en": "triples", "id": "tripel"},
    "shapes_of": {"en": "The constraints on the data described with", "id": "Batasan atas data yang dijelaskan dengan"},
    # SHACL constraint names on the ontology page (ikmkg.ontology_docs._SHAPE_KEYS, prefixed)
    "shacl_min": {"en": "min", "id": "min."},
    "shacl_max": {"en": "max", "id": "maks."},
    "shacl_datatype": {"en": "datatype", "id": "tipe data"},
    "shacl_class": {"en": "class", "id": "kelas"},
    "shacl_node kind": {"en": "node kind", "id": "jenis simpul"},
    "shacl_one of": {"en": "one of", "id": "salah satu dari"},
    "shacl_pattern": {"en": "pattern", "id": "pola"},
    "shacl_node": {"en": "node shape", "id": "bentuk simpul"},
    "shacl_has value": {"en": "has value", "id": "bernilai"},
    "shacl_≥": {"en": "≥", "id": "≥"},
    "shacl_≤": {"en": "≤", "id": "≤"},
    "shacl_languages": {"en": "languages", "id": "bahasa"},
    "shacl_unique language": {"en": "one value per language", "id": "satu nilai per bahasa"},
    "shacl_severity": {"en": "severity", "id": "tingkat"},
    "shacl_message": {"en": "message", "id": "pesan"},
    "shacl_or": {"en": "or", "id": "atau"},
    "shacl_qualified shape": {"en": "qualified shape", "id": "bentuk bersyarat"},
    "shacl_qualified min": {"en": "qualified min", "id": "min. bersyarat"},
    "shacl_qualified max": {"en": "qualified max", "id": "maks. bersyarat"},
    "shacl_SPARQL constraint": {"en": "SPARQL constraint", "id": "batasan SPARQL"},
    "shacl_closed": {"en": "closed", "id": "tertutup"},
    "shacl_min length": {"en": "min length", "id": "panjang min."},
    "shacl_max length": {"en": "max length", "id": "panjang maks."},
    "shacl_equals": {"en": "equals", "id": "sama dengan"},
    "shacl_disjoint": {"en": "disjoint from", "id": "terpisah dari"},
    "shacl_less than": {"en": "less than", "id": "kurang dari"},
    # releases (/releases/, /releases/VERSION), the citation block
    "releases_of": {"en": "Releases of ikmkg", "id": "Rilis ikmkg"},
    "newest": {"en": "newest", "id": "terbaru"},
    "no_release_yet": {"en": "No release has been recorded yet",
                       "id": "Belum ada rilis yang dicatat"},
    "release_of_dataset": {"en": "Release of the dataset", "id": "Rilis dataset"},
    "released": {"en": "released", "id": "dirilis"},
    "previous_release": {"en": "Previous release", "id": "Rilis sebelumnya"},
    "newest_release": {"en": "Newest release", "id": "Rilis terbaru"},
    "snapshot": {"en": "Snapshot", "id": "Cuplikan"},
    "downloads": {"en": "Downloads", "id": "Unduhan"},
    "immutable": {"en": "Immutable: these files never change.",
                  "id": "Tetap: berkas-berkas ini tidak pernah berubah."},
    "bundle_text": {
        "en": "the research bundle (dumps, ontology, shapes, validation report, VoID/DCAT "
              "description, named queries and their results, checksums, licence, citation), "
              "described by",
        "id": "paket riset (unduhan graf, ontologi, bentuk, laporan validasi, deskripsi "
              "VoID/DCAT, kueri bernama beserta hasilnya, checksum, lisensi, sitasi), dijelaskan "
              "oleh"},
    "data_conforms": {"en": "The data conforms to the SHACL shapes",
                      "id": "Data sesuai dengan bentuk SHACL"},
    "data_does_not_conform": {"en": "The data does not conform to the SHACL shapes",
                              "id": "Data tidak sesuai dengan bentuk SHACL"},
    "results_one": {"en": "{n} result", "id": "{n} hasil"},
    "results_other": {"en": "{n} results", "id": "{n} hasil"},
    "shacl_results_one": {"en": "{n} SHACL result for this resource in the",
                          "id": "{n} hasil SHACL untuk sumber daya ini dalam"},
    "shacl_results_other": {"en": "{n} SHACL results for this resource in the",
                            "id": "{n} hasil SHACL untuk sumber daya ini dalam"},
    "first_release": {"en": "The first release: there is nothing to compare it with.",
                      "id": "Rilis pertama: belum ada pembandingnya."},
    "from_release": {"en": "From", "id": "Dari"},
    "to_release": {"en": "to", "id": "ke"},
    "statements_added_one": {"en": "{n} statement added", "id": "{n} pernyataan ditambahkan"},
    "statements_added_other": {"en": "{n} statements added", "id": "{n} pernyataan ditambahkan"},
    "statements_removed_one": {"en": "{n} removed", "id": "{n} dihapus"},
    "statements_removed_other": {"en": "{n} removed", "id": "{n} dihapus"},
    "on_entities_one": {"en": "on {n} entity", "id": "pada {n} entitas"},
    "on_entities_other": {"en": "on {n} entities", "id": "pada {n} entitas"},
    "compare_with": {"en": "Compare with another release", "id": "Bandingkan dengan rilis lain"},
    "graph": {"en": "graph", "id": "graf"},
    "plain_text": {"en": "Text", "id": "Teks"},
    # the query page (/sparql, /queries/)
    "named_query": {"en": "Named query", "id": "Kueri bernama"},
    "named_queries": {"en": "Named queries", "id": "Kueri bernama"},
    "permalink": {"en": "permalink", "id": "tautan tetap"},
    "sparql_intro": {"en": "Query the knowledge graph with",
                     "id": "Ajukan kueri ke graf pengetahuan dengan"},
    "default_graph": {"en": "The default graph is the union of the published named graphs",
                      "id": "Graf bawaan adalah gabungan graf bernama yang diterbitkan"},
    "graph_ontology": {"en": "ontology", "id": "ontologi"},
    "graph_shapes": {"en": "shapes", "id": "bentuk"},
    "graph_data": {"en": "data", "id": "data"},
    "programs_send": {"en": "Programs can send the same request with the header",
                      "id": "Program dapat mengirim permintaan yang sama dengan tajuk"},
    "or_parameter": {"en": "or the parameter", "id": "atau parameter"},
    "or_header": {"en": "or send the header", "id": "atau kirim tajuk"},
    "service_description": {"en": "service description", "id": "deskripsi layanan"},
    "limits": {"en": "Limits: {seconds} s per query, {rows} rows per result.",
               "id": "Batas: {seconds} detik per kueri, {rows} baris per hasil."},
    "result_format": {"en": "Result format", "id": "Format hasil"},
    "html_table": {"en": "HTML table", "id": "Tabel HTML"},
    "example_queries": {"en": "Example queries", "id": "Contoh kueri"},
    "open_in_editor": {"en": "open in the editor", "id": "buka di penyunting"},
    "all_named_queries": {"en": "All named queries", "id": "Semua kueri bernama"},
    "named_queries_intro": {"en": "Each query has its own URL that runs it; add",
                            "id": "Setiap kueri memiliki URL sendiri yang menjalankannya; tambahkan"},
    "csv_in_full": {"en": "CSV is streamed in full.", "id": "CSV dikirim secara utuh."},
    "parameters": {"en": "Parameters", "id": "Parameter"},
    "results_heading": {"en": "Results", "id": "Hasil"},
    "rows_one": {"en": "{n} row", "id": "{n} baris"},
    "rows_other": {"en": "{n} rows", "id": "{n} baris"},
    "capped_at": {"en": "capped at {cap}: more exist", "id": "dibatasi {cap}: masih ada lagi"},
    "capped_hint": {"en": "download a format below or page with LIMIT/OFFSET",
                    "id": "unduh salah satu format di bawah atau gunakan LIMIT/OFFSET"},
    "download": {"en": "Download", "id": "Unduh"},
    "chart": {"en": "Chart", "id": "Diagram"},
    "by_column": {"en": "{value} by {label}", "id": "{value} menurut {label}"},
    "first_bars": {"en": "The first {shown} of {total} rows.",
                   "id": "{shown} baris pertama dari {total}."},
    "result_map_title": {"en": "{column} on the map ({what})", "id": "{column} di peta ({what})"},
    "result_map_sum": {"en": "sum of {column}", "id": "jumlah {column}"},
    "result_map_rows": {"en": "rows", "id": "baris"},
    # error pages: the status's title
    "http_400": {"en": "Bad Request", "id": "Permintaan tidak valid"},
    "http_404": {"en": "Not Found", "id": "Tidak ditemukan"},
    "http_405": {"en": "Method Not Allowed", "id": "Metode tidak diizinkan"},
    "http_406": {"en": "Not Acceptable", "id": "Format tidak tersedia"},
    "http_408": {"en": "Request Timeout", "id": "Waktu permintaan habis"},
    "http_413": {"en": "Content Too Large", "id": "Isi terlalu besar"},
    "http_414": {"en": "URI Too Long", "id": "URI terlalu panjang"},
    "http_415": {"en": "Unsupported Media Type", "id": "Jenis media tidak didukung"},
    "http_429": {"en": "Too Many Requests", "id": "Terlalu banyak permintaan"},
    "http_500": {"en": "Internal Server Error", "id": "Kesalahan internal server"},
    "http_503": {"en": "Service Unavailable", "id": "Layanan tidak tersedia"},
    # map and timeline pages, figures of the query page
    "map": {"en": "Map", "id": "Peta"},
    "timeline": {"en": "Timeline", "id": "Lini masa"},
    "map_title": {"en": "Provinces by phase of the programme",
                  "id": "Provinsi menurut fase program"},
    "map_intro": {
        "en": "Each province is coloured by the phase(s) of the programme it took part in, as "
              "the graph's province engagements state; a province in two phases is striped. "
              "Select a province to open its page.",
        "id": "Setiap provinsi diwarnai menurut fase program yang diikutinya, sebagaimana "
              "dinyatakan keterlibatan provinsi dalam graf; provinsi yang ikut dua fase diberi "
              "garis-garis. Pilih provinsi untuk membuka halamannya."},
    "no_engagement": {"en": "no engagement in the graph",
                      "id": "tidak ada keterlibatan dalam graf"},
    "legend": {"en": "Legend", "id": "Keterangan"},
    "provinces_shapes": {"en": "shapes", "id": "bentuk"},
    "province": {"en": "Province", "id": "Provinsi"},
    "iso_code": {"en": "ISO 3166-2", "id": "ISO 3166-2"},
    "phase_s": {"en": "Phase(s)", "id": "Fase"},
    "engagements_col": {"en": "Engagements", "id": "Keterlibatan"},
    "shape": {"en": "Shape on the map", "id": "Bentuk di peta"},
    "own_shape": {"en": "own shape", "id": "bentuk sendiri"},
    "drawn_within": {"en": "no own shape; lies within", "id": "tanpa bentuk sendiri; di dalam"},
    "no_shape": {"en": "no shape", "id": "tanpa bentuk"},
    "text_alternative": {"en": "The provinces and their phases",
                         "id": "Daftar provinsi dan fasenya"},
    "boundaries": {"en": "About the boundaries", "id": "Tentang batas wilayah"},
    "boundaries_text": {
        "en": "The drawn boundaries predate the newer provinces: these provinces of the graph "
              "have no shape of their own and are drawn within the province they were formed "
              "from:",
        "id": "Batas yang digambar lebih tua daripada provinsi yang lebih baru: provinsi graf "
              "berikut tidak memiliki bentuk sendiri dan tergambar di dalam provinsi asalnya:"},
    "map_query": {"en": "The query behind this map", "id": "Kueri di balik peta ini"},
    "source_of_shapes": {"en": "Boundaries", "id": "Batas wilayah"},
    "timeline_title": {"en": "Timeline of the programme", "id": "Lini masa program"},
    "timeline_intro": {
        "en": "Every dated statement of the graph on one time axis: periods as bars from their "
              "beginning to their end, dated values as marks as precise as the graph states "
              "them (a day, a month, or a whole year). Select an item to open its page.",
        "id": "Setiap pernyataan bertanggal dalam graf pada satu sumbu waktu: masa sebagai "
              "batang dari awal hingga akhirnya, nilai bertanggal sebagai tanda setepat yang "
              "dinyatakan graf (hari, bulan, atau satu tahun penuh). Pilih butir untuk membuka "
              "halamannya."},
    "section_article": {"en": "From the article", "id": "Dari artikel"},
    "section_reference": {"en": "From the reference tables", "id": "Dari tabel rujukan"},
    "kind_period": {"en": "period", "id": "masa"},
    "kind_value": {"en": "dated value", "id": "nilai bertanggal"},
    "item": {"en": "Item", "id": "Butir"},
    "property_col": {"en": "Property", "id": "Properti"},
    "stated": {"en": "As stated", "id": "Sebagaimana dinyatakan"},
    "undated_phases": {"en": "Phases stated without a period",
                       "id": "Fase yang dinyatakan tanpa masa"},
    "timeline_list": {"en": "The timeline as a list", "id": "Lini masa sebagai daftar"},
    "not_in_result": {"en": "not in the result", "id": "tidak ada dalam hasil"},
    "map_and_timeline": {"en": "Map and timeline", "id": "Peta dan lini masa"},
    "map_link_text": {"en": "The provinces on a map, coloured by phase",
                      "id": "Provinsi di peta, diwarnai menurut fase"},
    "timeline_link_text": {"en": "The programme's dated events on a timeline",
                           "id": "Peristiwa bertanggal program pada lini masa"},
    # dumps page (/dumps/, /.well-known/void); `_one`/`_other` pairs are counted with `count`
    "dumps_title": {"en": "Download the graph", "id": "Unduh graf"},
    "dataset": {"en": "Dataset", "id": "Dataset"},
    "data_licence": {"en": "Data licence", "id": "Lisensi data"},
    "code_licence": {"en": "code", "id": "kode"},
    "source": {"en": "Source", "id": "Sumber"},
    "created": {"en": "Created", "id": "Dibuat"},
    "modified": {"en": "Modified", "id": "Diubah"},
    "sparql_endpoint": {"en": "SPARQL endpoint", "id": "Titik akhir SPARQL"},
    "void_description": {"en": "VoID/DCAT description", "id": "Deskripsi VoID/DCAT"},
    "files": {"en": "Files", "id": "Berkas"},
    "files_intro": {
        "en": "Each file holds the same graph (graph version {version}), written "
              "deterministically: the same data always gives the same bytes. Check a download "
              "with {command}; gzip files are served as {type}.",
        "id": "Setiap berkas memuat graf yang sama (versi graf {version}), ditulis secara "
              "deterministik: data yang sama selalu menghasilkan bita yang sama. Periksa unduhan "
              "dengan {command}; berkas gzip dikirim sebagai {type}."},
    "file": {"en": "File", "id": "Berkas"},
    "format": {"en": "Format", "id": "Format"},
    "content": {"en": "Content", "id": "Isi"},
    "size": {"en": "Size", "id": "Ukuran"},
    "sha256": {"en": "SHA-256", "id": "SHA-256"},
    "scope_union": {"en": "all graphs in one", "id": "semua graf menjadi satu"},
    "scope_named graphs": {"en": "the named graphs", "id": "graf bernama"},
    "scope_data graph": {"en": "the data graph", "id": "graf data"},
    "rows_of_one": {"en": "{n} row of {what}", "id": "{n} baris {what}"},
    "rows_of_other": {"en": "{n} rows of {what}", "id": "{n} baris {what}"},
    "bytes_one": {"en": "{n} byte", "id": "{n} bita"},
    "bytes_other": {"en": "{n} bytes", "id": "{n} bita"},
    "also": {"en": "Also", "id": "Juga"},
    "support_files": {
        "en": "the JSON-LD context, the machine-readable list of files, the checksums",
        "id": "konteks JSON-LD, daftar berkas yang terbaca mesin, dan checksum"},
    "statistics": {"en": "Statistics", "id": "Statistik"},
    "statistics_intro": {
        "en": "Counted from the published graph (the union of the ontology, shapes and data "
              "graphs).",
        "id": "Dihitung dari graf terbit (gabungan graf ontologi, bentuk, dan data)."},
    "stat_triples": {"en": "triples", "id": "tripel"},
    "stat_entities": {"en": "entities (IRIs under {space})", "id": "entitas (IRI di bawah {space})"},
    "stat_subjects": {"en": "distinct subjects", "id": "subjek berbeda"},
    "stat_objects": {"en": "distinct objects", "id": "objek berbeda"},
    "stat_classes": {"en": "classes", "id": "kelas"},
    "stat_properties": {"en": "properties", "id": "properti"},
    "stat_links": {"en": "links to Wikidata via {predicate}",
                   "id": "tautan ke Wikidata melalui {predicate}"},
    "example_resources": {"en": "Example resources", "id": "Contoh sumber daya"},
    "vocabularies": {"en": "Vocabularies", "id": "Kosakata"},
    "entities": {"en": "entities", "id": "entitas"},
    # search page
    "search": {"en": "Search", "id": "Cari"},
    "search_label": {"en": "Search the graph", "id": "Cari dalam graf"},
    "search_placeholder": {"en": "Search: kopi, Sulsel, …", "id": "Cari: kopi, Sulsel, …"},
    "results_for": {"en": "results for", "id": "hasil untuk"},
    "no_results": {"en": "Nothing matches", "id": "Tidak ada yang cocok dengan"},
    "by_type": {"en": "By type", "id": "Menurut jenis"},
    "all_types": {"en": "all types", "id": "semua jenis"},
    "hint": {"en": "Names and descriptions in Indonesian and English; abbreviations such as "
                   "Sulsel or Jatim work too.",
             "id": "Nama dan keterangan dalam bahasa Indonesia dan Inggris; singkatan seperti "
                   "Sulsel atau Jatim juga bisa."},
    "as_json": {"en": "These results as JSON", "id": "Hasil ini sebagai JSON"},
}


def text(key: str, lang: str) -> str:
    """The interface string `key` in `lang` (English when missing there; the key when unknown)."""
    entry = UI.get(key, {})
    return entry.get(lang) or entry.get("en") or key


def number(n: int, lang: str) -> str:
    """`n` with the thousands separator of `lang` (27,600 in English, 27.600 in Indonesian)."""
    grouped = f"{n:,}"
    return grouped.replace(",", ".") if lang == "id" else grouped


def count(n: int, key: str, lang: str, **fields: str) -> str:
    """`key_one` or `key_other` for `n`, with `{n}` (and `fields`) filled in; markup-safe:
    the text is escaped, and so is every field that is not already Markup."""
    return escape(text(f"{key}_{'one' if n == 1 else 'other'}", lang)).format(
        n=number(n, lang), **fields)


def file_size(n: int, lang: str) -> str:
    """A size a person reads at a glance: 812 bytes, 27.6 kB, 1.2 MB (decimal units)."""
    if n < 1000:
        return count(n, "bytes", lang)
    value, unit = n / 1000, "kB"
    for bigger in ("MB", "GB"):
        if value < 999.95:
            break
        value, unit = value / 1000, bigger
    shown = f"{value:.1f}"
    return f"{shown.replace('.', ',') if lang == 'id' else shown} {unit}"


def reader_language() -> tuple[str, bool]:
    """The reader's language and whether it was chosen explicitly with `?lang=`."""
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        return asked, True
    best = request.accept_languages.best_match(LANGUAGES)
    return (best or DEFAULT_LANGUAGE), False


def with_lang(url: str, explicit_lang: str | None) -> str:
    """`url` carrying the reader's explicit language choice (unchanged when there is none)."""
    if not explicit_lang:
        return url
    path, _, fragment = url.partition("#")
    joined = f"{path}{'&' if '?' in path else '?'}lang={explicit_lang}"
    return f"{joined}#{fragment}" if fragment else joined


def _template_helpers() -> dict:
    lang, explicit = reader_language()

    def lang_url(code: str) -> str:
        args = request.args.to_dict()
        args["lang"] = code
        return f"{request.script_root}{request.path}?{urlencode(args)}"

    def link(path: str) -> str:
        return with_lang(request.script_root + path, lang if explicit else None)

    return {"lang": lang, "t": lambda key: text(key, lang), "lang_url": lang_url, "link": link,
            "languages": LANGUAGES, "number": lambda n: number(n, lang),
            "count": lambda n, key, **fields: count(n, key, lang, **fields),
            "file_size": lambda n: file_size(n, lang)}


def init_app(app: Flask) -> None:
    """Give every template the reader's language and `t`, `lang_url`, `link`, `languages`,
    `number`, `count` and `file_size`."""
    app.context_processor(_template_helpers)
