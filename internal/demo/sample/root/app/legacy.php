<?php
// acme shop 2.4.1 — legacy export, removed by fix 2.4.1.3
function legacy_export() { return []; }
