
br-1R
data/a
br-1Z

data/a
,br-1b$
run-1
//sales:daily
data/a 