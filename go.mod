module github.com/quiesce/quiesce

go 1.25
