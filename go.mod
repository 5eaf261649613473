module github.com/metalgraph/metalgraph

go 1.26.8

require golang.org/x/sys v0.50.0

require (
	github.com/emicklei/dot v1.6.2 // indirect
	github.com/progrium/darwinkit v0.5.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
