<?php
// acme shop 2.4.1.2 — coupons
function apply_coupons(float $sum, array $coupons): float {
    foreach ($coupons as $c) { $sum -= $c; }
    return $sum;
}
