package consul

// CatalogService reads and writes the catalog of nodes and services: /v1/catalog/.
type CatalogService service
